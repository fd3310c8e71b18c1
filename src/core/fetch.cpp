// SPDX-License-Identifier: Apache-2.0
// URL resources are downloaded with libcurl, bounded by a timeout so that a
// dead server cannot hang the program.
#include "core/objects.h"

#include <cstdio>
#include <curl/curl.h>
#include <mutex>
#include <unistd.h>

namespace vaccel::core
{
namespace
{

size_t write_file(char *ptr, size_t size, size_t n, void *user)
{
	return std::fwrite(ptr, size, n, static_cast<FILE *>(user));
}

} // namespace

Status fetch_url(const std::string &url, const std::string &dest,
		 long timeout_s)
{
	static std::once_flag once;
	std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
	CURL *curl = curl_easy_init();
	if (curl == nullptr)
		return Status(VACCEL_ENOMEM, "cannot create a curl handle");
	FILE *out = std::fopen(dest.c_str(), "wbx");
	if (out == nullptr) {
		curl_easy_cleanup(curl);
		return Status::error(VACCEL_EIO, "cannot create %s",
				     dest.c_str());
	}
	char err[CURL_ERROR_SIZE] = {0};
	curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_file);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout_s);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
	CURLcode rc = curl_easy_perform(curl);
	curl_easy_cleanup(curl);
	bool write_ok = std::fclose(out) == 0;
	if (rc != CURLE_OK || !write_ok) {
		unlink(dest.c_str());
		if (rc == CURLE_OPERATION_TIMEDOUT)
			return Status::error(
			    VACCEL_EIO, "fetching %s timed out after %ld s",
			    url.c_str(), timeout_s);
		return Status::error(VACCEL_EIO, "fetching %s failed: %s",
				     url.c_str(),
				     err[0] ? err : curl_easy_strerror(rc));
	}
	return Status::ok();
}

} // namespace vaccel::core
