# sockproxy's container image: one static binary on scratch.
#
# `make image` builds the binary on the host (CGO_ENABLED=0, -trimpath, the
# version stamped with -ldflags) into build/image/, copies this file beside
# it and runs `docker build` on that directory, as goreleaser builds its
# docker images: nothing is pulled, so it works with no registry access
# (FROM scratch needs no base image).
#
# Configure it with environment variables (every flag is SOCKPROXY_<FLAG>,
# plus Tecnativa's CONTAINERS=1, POST=0, …); see examples/compose.yaml.
# The HEALTHCHECK runs the binary itself (scratch has no shell), which
# reads SOCKPROXY_LISTEN like the proxy does.
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="sockproxy" \
      org.opencontainers.image.description="A reverse proxy that restricts the Docker Engine API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/sockproxylab/sockproxy"
COPY sockproxy /sockproxy
# The directory for a unix: -listen socket, owned by the proxy's user, so
# that a named volume mounted there starts out writable by it.
COPY --chown=65534:65534 run /run/sockproxy
# The proxy needs no root: it needs the Docker socket's group (add it with
# `group_add: ["<gid of /var/run/docker.sock>"]`, or run as "65534:<gid>").
USER 65534:65534
ENV SOCKPROXY_SOCKET=/var/run/docker.sock \
    SOCKPROXY_LISTEN=:2375
EXPOSE 2375
HEALTHCHECK --interval=10s --timeout=6s --start-period=5s --retries=3 CMD ["/sockproxy", "-healthcheck"]
ENTRYPOINT ["/sockproxy"]
