# syntax=docker/dockerfile:1
# vaccel-agent image for deploy/k8s (DaemonSet and sidecar). Build context:
# the repository root:
#
#   docker build -f deploy/docker/agent.Dockerfile -t vaccel-agent:0.1.0 .
#
# Backend plugins whose libraries are installed in the build stage are built
# and packaged into vaccel-plugins; add their -dev packages below (and the
# runtime libraries follow through the packages' Depends).

FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config file dpkg-dev \
      libcurl4-openssl-dev libtomlplusplus-dev protobuf-compiler libprotobuf-dev \
      libssl-dev libseccomp-dev libmicrohttpd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DVACCEL_BUILD_TESTS=OFF -DVACCEL_BUILD_EXAMPLES=OFF -DVACCEL_BUILD_BENCH=OFF \
 && cmake --build /build \
 && cpack -G DEB --config /build/CPackConfig.cmake -B /debs

FROM debian:12-slim
COPY --from=build /debs/libvaccel0_*.deb /debs/vaccel-plugins_*.deb \
                  /debs/vaccel-agent_*.deb /tmp/debs/
RUN apt-get update \
 && apt-get install -y --no-install-recommends /tmp/debs/*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/debs
# The socket's directory, the agent's own (Kubernetes mounts a volume here).
RUN install -d -o 10001 -g 10001 -m 0750 /run/vaccel
# Numeric, so that Kubernetes can check runAsNonRoot.
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["/usr/bin/vaccel-agent"]
# A unix socket: clients share the volume holding it. No plaintext TCP on
# every interface (tcp://0.0.0.0): remote clients need mutual TLS
# (deploy/k8s/agent-daemonset.yaml, docs/deployment-hardening.md).
CMD ["--server-address", "unix:///run/vaccel/agent.sock"]
