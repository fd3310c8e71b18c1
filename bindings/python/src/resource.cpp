// SPDX-License-Identifier: Apache-2.0
// vaccel.Resource: models, libraries and data (struct vaccel_resource),
// made from a file, a directory, several files, an http(s) URL, a buffer or
// named in-memory blobs, as the C API allows.
#include "common.h"
#include "resource_type.h"

#include <cstdlib>
#include <string>
#include <vector>

namespace vaccel_py
{

Resource::~Resource()
{
	if (res == nullptr)
		return;
	// Never raise from a destructor: after vaccel_cleanup() or while still
	// registered the C call fails, and the struct is left to the runtime.
	if (vaccel_resource_delete(res) == VACCEL_OK)
		res = nullptr;
}

vaccel_resource *Resource::get(const char *what) const
{
	if (res == nullptr)
		fail(VACCEL_EINVAL, what, "the resource was released");
	return res;
}

void Resource::release()
{
	if (res == nullptr)
		return;
	if (in_flight.load() != 0)
		fail(VACCEL_EBUSY, "vaccel.Resource.release",
		     "ops using the resource are still running");
	const int rc = vaccel_resource_delete(res);
	// EINVAL: dropped by vaccel_cleanup() already (see Session::release).
	if (rc == VACCEL_OK || rc == VACCEL_EINVAL) {
		res = nullptr;
		return;
	}
	check(rc, "vaccel_resource_delete");
}

namespace
{

std::string fspath(const py::handle &p)
{
	return py::str(py::module_::import("os").attr("fspath")(p));
}

bool single_path(const py::handle &paths)
{
	return py::isinstance<py::str>(paths) ||
	       py::hasattr(paths, "__fspath__");
}

std::vector<std::string> path_list(const py::handle &paths)
{
	if (single_path(paths))
		return {fspath(paths)};
	std::vector<std::string> ps;
	for (py::handle h : py::iter(paths))
		ps.push_back(fspath(h));
	return ps;
}

// `type` is ours and upstream's positional, `type_` upstream's keyword;
// neither: inferred from the files (resource_type.h).
vaccel_resource_type_t
resource_type(const std::vector<std::string> &paths,
	      std::optional<vaccel_resource_type_t> type,
	      std::optional<vaccel_resource_type_t> type_)
{
	if (type && type_ && *type != *type_)
		fail(VACCEL_EINVAL, "vaccel.Resource",
		     "give the type once (type or type_), not two different "
		     "ones");
	if (type)
		return *type;
	if (type_)
		return *type_;
	return infer_resource_type(paths);
}

std::unique_ptr<Resource>
from_paths(const py::handle &paths, std::optional<vaccel_resource_type_t> type,
	   std::optional<vaccel_resource_type_t> type_)
{
	const bool single = single_path(paths);
	const std::vector<std::string> ps = path_list(paths);
	const vaccel_resource_type_t t = resource_type(ps, type, type_);
	auto r = std::make_unique<Resource>();
	int rc = 0;
	std::string msg;
	{
		std::vector<const char *> cps;
		for (const auto &s : ps)
			cps.push_back(s.c_str());
		py::gil_scoped_release nogil; // a URL may be downloaded
		rc = single ? vaccel_resource_new(&r->res, cps[0], t)
			    : vaccel_resource_multi_new(&r->res, cps.data(),
							cps.size(), t);
		if (rc != VACCEL_OK)
			msg = vaccel_last_error();
	}
	if (rc != VACCEL_OK) {
		r->res = nullptr;
		fail(rc, "vaccel_resource_new", msg);
	}
	return r;
}

py::list blob_list(const vaccel_resource *res)
{
	py::list out;
	for (size_t i = 0; i < res->nr_blobs; i++) {
		const vaccel_blob *b = res->blobs[i];
		if (b == nullptr)
			continue;
		py::dict d;
		d["name"] = b->name != nullptr ? py::cast(std::string(b->name))
					       : py::none();
		d["path"] = b->path != nullptr ? py::cast(std::string(b->path))
					       : py::none();
		d["type"] = vaccel_blob_type_to_base_str(b->type);
		d["size"] = b->size;
		out.append(d);
	}
	return out;
}

} // namespace

void init_resource(py::module_ &m)
{
	py::enum_<vaccel_resource_type_t>(m, "ResourceType")
	    .value("LIB", VACCEL_RESOURCE_LIB)
	    .value("DATA", VACCEL_RESOURCE_DATA)
	    .value("MODEL", VACCEL_RESOURCE_MODEL);
	py::enum_<vaccel_path_type_t>(m, "PathType")
	    .value("LOCAL_FILE", VACCEL_PATH_LOCAL_FILE)
	    .value("LOCAL_DIR", VACCEL_PATH_LOCAL_DIR)
	    .value("REMOTE_FILE", VACCEL_PATH_REMOTE_FILE);

	py::class_<Resource>(m, "Resource", R"doc(
A vAccel resource (struct vaccel_resource).

Resource(path, type=None): `path` is a file, a directory (every regular
file in it), an http(s):// URL (downloaded; the GIL is released meanwhile)
or a list of files/URLs. Without a type (`type`, or upstream's keyword
`type_`) it is read off the files: a model file (.pt, .onnx, .tflite, ...)
makes it MODEL, only shared libraries LIB, else DATA (docs/python.md). Resource.from_buffer() and
Resource.from_blobs() make one from memory. Use it as a context manager, or
call release(); releasing a resource still registered with sessions
unregisters it from them first (as upstream vAccel).
)doc")
	    .def(py::init(&from_paths), py::arg("path"),
		 py::arg("type") = py::none(), py::kw_only(),
		 py::arg("type_") = py::none())
	    .def_static(
		"from_buffer",
		[](const py::buffer &data, vaccel_resource_type_t type,
		   std::optional<std::string> filename, bool mem_only) {
			BufferView v(data, false,
				     "vaccel.Resource.from_buffer");
			auto r = std::make_unique<Resource>();
			int rc = vaccel_resource_from_buf(
			    &r->res, v.data(), v.size(), type,
			    filename ? filename->c_str() : nullptr, mem_only);
			if (rc != VACCEL_OK) {
				r->res = nullptr;
				check(rc, "vaccel_resource_from_buf");
			}
			return r;
		},
		py::arg("data"), py::arg("type") = VACCEL_RESOURCE_DATA,
		py::arg("filename") = py::none(), py::arg("mem_only") = false,
		"A resource holding a copy of `data` (the C API copies it). "
		"Unless mem_only, the bytes are also written to "
		"rundir/filename for backends that need a path.")
	    .def_static(
		"from_blobs",
		[](const std::vector<std::pair<std::string, py::buffer>> &blobs,
		   vaccel_resource_type_t type) {
			std::vector<BufferView> views;
			std::vector<vaccel_blob> cb(blobs.size());
			std::vector<const vaccel_blob *> ptrs;
			views.reserve(blobs.size());
			int rc = VACCEL_OK;
			size_t made = 0;
			for (; made < blobs.size(); made++) {
				views.emplace_back(
				    blobs[made].second, false,
				    "vaccel.Resource.from_blobs");
				// Borrowed: the resource copies the bytes.
				rc = vaccel_blob_init_from_buf(
				    &cb[made],
				    static_cast<const uint8_t *>(
					views.back().data()),
				    views.back().size(), false,
				    blobs[made].first.c_str(), nullptr, false);
				if (rc != VACCEL_OK)
					break;
				ptrs.push_back(&cb[made]);
			}
			std::string msg =
			    rc != VACCEL_OK ? vaccel_last_error() : "";
			auto r = std::make_unique<Resource>();
			if (rc == VACCEL_OK) {
				rc = vaccel_resource_from_blobs(
				    &r->res, ptrs.data(), ptrs.size(), type);
				if (rc != VACCEL_OK) {
					msg = vaccel_last_error();
					r->res = nullptr;
				}
			}
			for (size_t i = 0; i < made; i++)
				vaccel_blob_release(&cb[i]);
			if (rc != VACCEL_OK)
				fail(rc, "vaccel_resource_from_blobs", msg);
			return r;
		},
		py::arg("blobs"), py::arg("type") = VACCEL_RESOURCE_DATA,
		"A resource from [(name, bytes), ...] in memory (copied).")
	    .def("release", &Resource::release,
		 "Free the resource, unregistering it from its sessions first.")
	    .def("close", &Resource::release)
	    .def("__enter__", [](py::object self) { return self; })
	    .def("__exit__",
		 [](Resource &self, const py::args &) { self.release(); })
	    .def_property_readonly(
		"released", [](const Resource &r) { return r.res == nullptr; })
	    .def_property_readonly(
		"id", [](const Resource &r) { return r.get("id")->id; })
	    .def_property_readonly(
		"remote_id",
		[](const Resource &r) { return r.get("remote_id")->remote_id; })
	    .def_property_readonly(
		"type", [](const Resource &r) { return r.get("type")->type; })
	    .def_property_readonly(
		"path_type",
		[](const Resource &r) { return r.get("path_type")->path_type; })
	    .def_property_readonly(
		"paths",
		[](const Resource &r) {
			const auto *c = r.get("paths");
			std::vector<std::string> out;
			for (size_t i = 0; i < c->nr_paths; i++)
				out.emplace_back(c->paths[i]);
			return out;
		})
	    .def_property_readonly(
		"rundir",
		[](const Resource &r) -> std::optional<std::string> {
			const auto *c = r.get("rundir");
			if (c->rundir == nullptr)
				return std::nullopt;
			return std::string(c->rundir);
		})
	    .def_property_readonly(
		"blobs",
		[](const Resource &r) { return blob_list(r.get("blobs")); },
		"Its files: dicts with name, path (None in memory), type, "
		"size.")
	    .def_property_readonly(
		"refcount",
		[](const Resource &r) {
			return vaccel_resource_refcount(r.get("refcount"));
		},
		"Number of sessions it is registered with.")
	    .def_property_readonly(
		"directory",
		[](const Resource &r) {
			char *p = nullptr;
			check(vaccel_resource_directory(r.get("directory"),
							nullptr, 0, &p),
			      "vaccel_resource_directory");
			std::string out(p);
			std::free(p);
			return out;
		},
		"The directory of a resource made from one (EINVAL "
		"otherwise).")
	    .def("__repr__", [](const Resource &r) {
		    if (r.res == nullptr)
			    return std::string("<vaccel.Resource released>");
		    return "<vaccel.Resource id=" + std::to_string(r.res->id) +
			   " " + vaccel_resource_type_to_base_str(r.res->type) +
			   " " + std::to_string(r.res->nr_blobs) + " files>";
	    });
}

} // namespace vaccel_py
