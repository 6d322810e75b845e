# The Wolkvox simulator's image, for deploy/compose/compose.yaml (built from the
# repository's root: docker compose passes context ../..).
ARG GO_VERSION=1.26
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=0
RUN go build -trimpath -buildvcs=false -ldflags "-s -w" -o /out/wolkvox-sim ./cmd/wolkvox-sim

FROM scratch
COPY --from=build /out/wolkvox-sim /wolkvox-sim
EXPOSE 8089
USER 65532:65532
ENTRYPOINT ["/wolkvox-sim"]
