// SPDX-License-Identifier: Apache-2.0
// Module-level functions and enums: version, bootstrap/cleanup, the
// effective configuration and the loaded plugins (vaccel/ext.h
// introspection).
#include "common.h"

#include <string>
#include <vector>

namespace vaccel_py
{

namespace
{

struct PluginInfo {
	std::string name;
	std::string version;
	std::string vaccel_version;
	std::string path;
	unsigned int type = 0;
	std::vector<vaccel_op_type_t> ops;
};

std::vector<PluginInfo> loaded_plugins()
{
	std::vector<PluginInfo> out;
	const size_t n = vaccel_plugin_count();
	for (size_t i = 0; i < n; i++) {
		vaccel_plugin_desc d{};
		d.struct_size = sizeof(d);
		// A plugin may be unloaded concurrently (cleanup): stop there.
		if (vaccel_plugin_describe(i, &d) != VACCEL_OK)
			break;
		PluginInfo p;
		p.name = d.name != nullptr ? d.name : "";
		p.version = d.version != nullptr ? d.version : "";
		p.vaccel_version =
		    d.vaccel_version != nullptr ? d.vaccel_version : "";
		p.path = d.path != nullptr ? d.path : "";
		p.type = d.type;
		for (int op = 0; op < VACCEL_OP_MAX; op++)
			if ((d.ops_mask >> op) & 1U)
				p.ops.push_back(
				    static_cast<vaccel_op_type_t>(op));
		out.push_back(std::move(p));
	}
	return out;
}

py::dict current_config()
{
	py::dict d;
	const struct vaccel_config *c = vaccel_config();
	if (c == nullptr)
		return d;
	d["plugins"] = c->plugins != nullptr ? py::cast(std::string(c->plugins))
					     : py::none();
	d["log_level"] = static_cast<int>(c->log_level);
	d["log_file"] = c->log_file != nullptr
			    ? py::cast(std::string(c->log_file))
			    : py::none();
	d["profiling_enabled"] = c->profiling_enabled;
	d["version_ignore"] = c->version_ignore;
	return d;
}

void bootstrap(const std::optional<std::string> &plugins,
	       const std::optional<int> &log_level,
	       const std::optional<std::string> &log_file,
	       const std::optional<bool> &profiling,
	       const std::optional<bool> &version_ignore)
{
	// Nothing given: read the environment, as the load-time bootstrap.
	if (!plugins && !log_level && !log_file && !profiling &&
	    !version_ignore) {
		int rc = 0;
		{
			py::gil_scoped_release nogil;
			rc = vaccel_bootstrap();
		}
		check(rc, "vaccel_bootstrap");
		return;
	}
	// Otherwise the environment's values, overridden by the arguments.
	struct vaccel_config env {
	};
	check(vaccel_config_init_from_env(&env), "vaccel_config_init_from_env");
	struct vaccel_config cfg {
	};
	int rc = vaccel_config_init(
	    &cfg, plugins ? plugins->c_str() : env.plugins,
	    log_level ? static_cast<vaccel_log_level_t>(*log_level)
		      : env.log_level,
	    log_file ? log_file->c_str() : env.log_file,
	    profiling ? *profiling : env.profiling_enabled,
	    version_ignore ? *version_ignore : env.version_ignore);
	vaccel_config_release(&env);
	check(rc, "vaccel_config_init");
	{
		py::gil_scoped_release nogil;
		rc = vaccel_bootstrap_with_config(&cfg);
	}
	std::string msg = rc != VACCEL_OK ? vaccel_last_error() : "";
	vaccel_config_release(&cfg);
	if (rc != VACCEL_OK)
		fail(rc, "vaccel_bootstrap_with_config", msg);
}

} // namespace

void init_runtime(py::module_ &m)
{
	m.attr("__version__") = VACCEL_VERSION;
	m.attr("version") = VACCEL_VERSION;
	m.attr("version_info") = py::make_tuple(
	    VACCEL_VERSION_MAJOR, VACCEL_VERSION_MINOR, VACCEL_VERSION_PATCH);

	py::enum_<vaccel_op_type_t>(m, "OpType", "vAccel op types.")
	    .value("NOOP", VACCEL_OP_NOOP)
	    .value("EXEC", VACCEL_OP_EXEC)
	    .value("EXEC_WITH_RESOURCE", VACCEL_OP_EXEC_WITH_RESOURCE)
	    .value("IMAGE_CLASSIFY", VACCEL_OP_IMAGE_CLASSIFY)
	    .value("IMAGE_DETECT", VACCEL_OP_IMAGE_DETECT)
	    .value("IMAGE_SEGMENT", VACCEL_OP_IMAGE_SEGMENT)
	    .value("IMAGE_POSE", VACCEL_OP_IMAGE_POSE)
	    .value("IMAGE_DEPTH", VACCEL_OP_IMAGE_DEPTH)
	    .value("TF_MODEL_LOAD", VACCEL_OP_TF_MODEL_LOAD)
	    .value("TF_MODEL_UNLOAD", VACCEL_OP_TF_MODEL_UNLOAD)
	    .value("TF_MODEL_RUN", VACCEL_OP_TF_MODEL_RUN)
	    .value("TFLITE_MODEL_LOAD", VACCEL_OP_TFLITE_MODEL_LOAD)
	    .value("TFLITE_MODEL_UNLOAD", VACCEL_OP_TFLITE_MODEL_UNLOAD)
	    .value("TFLITE_MODEL_RUN", VACCEL_OP_TFLITE_MODEL_RUN)
	    .value("TORCH_MODEL_LOAD", VACCEL_OP_TORCH_MODEL_LOAD)
	    .value("TORCH_MODEL_RUN", VACCEL_OP_TORCH_MODEL_RUN)
	    .value("TORCH_SGEMM", VACCEL_OP_TORCH_SGEMM)
	    .value("BLAS_SGEMM", VACCEL_OP_BLAS_SGEMM)
	    .value("FPGA_ARRAYCOPY", VACCEL_OP_FPGA_ARRAYCOPY)
	    .value("FPGA_MMULT", VACCEL_OP_FPGA_MMULT)
	    .value("FPGA_PARALLEL", VACCEL_OP_FPGA_PARALLEL)
	    .value("FPGA_VECTORADD", VACCEL_OP_FPGA_VECTORADD)
	    .value("MINMAX", VACCEL_OP_MINMAX)
	    .value("OPENCV", VACCEL_OP_OPENCV);

	// Plain ints in the C API: a hint is any OR of these bits.
	py::enum_<vaccel_plugin_type_t>(m, "PluginType",
					"Plugin type bits (session hints).",
					py::arithmetic())
	    .value("CPU", VACCEL_PLUGIN_CPU)
	    .value("GPU", VACCEL_PLUGIN_GPU)
	    .value("FPGA", VACCEL_PLUGIN_FPGA)
	    .value("SOFTWARE", VACCEL_PLUGIN_SOFTWARE)
	    .value("TENSORFLOW", VACCEL_PLUGIN_TENSORFLOW)
	    .value("TORCH", VACCEL_PLUGIN_TORCH)
	    .value("JETSON", VACCEL_PLUGIN_JETSON)
	    .value("GENERIC", VACCEL_PLUGIN_GENERIC)
	    .value("DEBUG", VACCEL_PLUGIN_DEBUG)
	    .value("REMOTE", VACCEL_PLUGIN_REMOTE)
	    .value("ALL", VACCEL_PLUGIN_ALL);

	py::enum_<vaccel_log_level_t>(m, "LogLevel")
	    .value("ERROR", VACCEL_LOG_ERROR)
	    .value("WARN", VACCEL_LOG_WARN)
	    .value("INFO", VACCEL_LOG_INFO)
	    .value("DEBUG", VACCEL_LOG_DEBUG);

	py::class_<PluginInfo>(m, "PluginInfo",
			       "A loaded plugin (vaccel_plugin_describe()).")
	    .def_readonly("name", &PluginInfo::name)
	    .def_readonly("version", &PluginInfo::version)
	    .def_readonly("vaccel_version", &PluginInfo::vaccel_version)
	    .def_readonly("path", &PluginInfo::path)
	    .def_readonly("type", &PluginInfo::type,
			  "VACCEL_PLUGIN_* bits (vaccel.PluginType)")
	    .def_readonly("ops", &PluginInfo::ops,
			  "the ops it implements (vaccel.OpType)")
	    .def("__repr__", [](const PluginInfo &p) {
		    return "<vaccel.PluginInfo " + p.name + " " + p.version +
			   " (" + std::to_string(p.ops.size()) + " ops) " +
			   p.path + ">";
	    });

	m.def("bootstrap", &bootstrap, py::arg("plugins") = py::none(),
	      py::arg("log_level") = py::none(),
	      py::arg("log_file") = py::none(),
	      py::arg("profiling") = py::none(),
	      py::arg("version_ignore") = py::none(),
	      "Initialize the runtime. Without arguments it reads the "
	      "environment (VACCEL_PLUGINS, ...) like the automatic bootstrap "
	      "at load time; arguments override single settings. "
	      "If already initialized it starts again (as upstream): what "
	      "cleanup() releases is released first.");
	m.def(
	    "cleanup",
	    [] {
		    int rc = 0;
		    {
			    py::gil_scoped_release nogil;
			    rc = vaccel_cleanup();
		    }
		    check(rc, "vaccel_cleanup");
	    },
	    "Unload every plugin and free the runtime. Sessions and resources "
	    "still alive become unusable (their calls fail with EINVAL).");
	m.def("is_initialized", &vaccel_is_initialized);
	m.def(
	    "rundir",
	    []() -> std::optional<std::string> {
		    const char *d = vaccel_rundir();
		    if (d == nullptr)
			    return std::nullopt;
		    return std::string(d);
	    },
	    "The runtime's run directory, or None when not initialized.");
	m.def("config", &current_config,
	      "The effective configuration as a dict (empty when not "
	      "initialized).");
	m.def("plugins", &loaded_plugins,
	      "The loaded plugins, in load order, with the ops each "
	      "implements.");
	m.def("plugin_count", &vaccel_plugin_count);
	m.def(
	    "plugin_has_op",
	    [](const std::string &name, vaccel_op_type_t op) {
		    void *fn = nullptr;
		    int rc = vaccel_plugin_get_op(name.c_str(), op, &fn);
		    if (rc == VACCEL_ENOTSUP)
			    return false;
		    check(rc, "vaccel_plugin_get_op");
		    return fn != nullptr;
	    },
	    py::arg("plugin"), py::arg("op"),
	    "True if the loaded plugin @plugin implements @op; "
	    "VaccelError(ENOENT) if no such plugin is loaded.");
	m.def("session_count", &vaccel_session_count,
	      "Live sessions in this process.");
	m.def("resource_count", &vaccel_resource_count,
	      "Live resources in this process.");
	m.def(
	    "last_error", [] { return std::string(vaccel_last_error()); },
	    "Message of this thread's last failed vAccel call ('' if none).");
}

} // namespace vaccel_py
