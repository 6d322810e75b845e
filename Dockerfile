# wolkvox-connect's container image: one static binary and the CA certificates, nothing
# else (no shell, no package manager), run as a non-root user.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t wolkvox-connect .
#   docker run --rm wolkvox-connect version
#   docker run --rm -v "$PWD/wolkvox.yaml:/etc/wolkvox-connect/config.yaml:ro" \
#     -e WOLKVOX_TOKEN -p 8083:8083 wolkvox-connect
#
# - The zone database is compiled in (time/tzdata, see source/config), so the image needs
#   no /usr/share/zoneinfo; HTTPS to Wolkvox, TLS to Kafka and the registry need the CA
#   bundle, copied from the build stage to where Go looks first on Linux.
# - No HEALTHCHECK: probes belong to the orchestrator (/healthz for liveness, /readyz
#   for readiness; see deploy/kubernetes and deploy/compose).
# - deploy/check builds the binary with the exact go build line below and runs it in an
#   empty root holding only what the final stage copies: keep that line one RUN.

ARG GO_VERSION=1.26
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ENV CGO_ENABLED=0
RUN go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION}" -o /out/wolkvox-connect ./cmd/wolkvox-connect

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/wolkvox-connect /wolkvox-connect
# A writable /tmp (os.TempDir()): where a window's transaction spools the records Kafka is
# too slow to take, so that an answer is never held open; scratch has none.
COPY --from=build --chown=65532:65532 --chmod=1777 /tmp /tmp
# Listen on every interface of the container (the worker's default is loopback); the
# variable replaces rest.address of the configuration file. Set a REST token (rest.token).
ENV WOLKVOX_REST_ADDRESS=0.0.0.0:8083
EXPOSE 8083
# 65532: the "nonroot" user of distroless images; numeric, since scratch has no passwd.
USER 65532:65532
ENTRYPOINT ["/wolkvox-connect"]
CMD ["run", "--config", "/etc/wolkvox-connect/config.yaml", "--exit-on-failure"]
