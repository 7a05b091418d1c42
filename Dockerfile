# rpcgate container image: a static binary in an empty (scratch) image.
#
#   docker build -t rpcgate:v1.2.3 \
#     --build-arg VERSION=v1.2.3 \
#     --build-arg COMMIT="$(git rev-parse HEAD)" \
#     --build-arg DATE="$(git log -1 --format=%cI)" .
#
# The build is reproducible: the same source and build args give the same
# binary (-trimpath, no VCS stamping, DATE taken from the commit, not the
# clock). VERSION, COMMIT and DATE are shown by `rpcgate version` and in
# the rpcgate_build_info metric. See docs/deploy.md.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w \
        -X github.com/rpcgate/rpcgate/internal/buildinfo.Version=${VERSION} \
        -X github.com/rpcgate/rpcgate/internal/buildinfo.Commit=${COMMIT} \
        -X github.com/rpcgate/rpcgate/internal/buildinfo.Date=${DATE}" \
      -o /out/rpcgate ./cmd/rpcgate

# The image users run: no shell, no package manager, no libc; only the
# binary and the CA bundle it needs to reach https:// nodes.
FROM scratch AS final
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
LABEL org.opencontainers.image.title="rpcgate" \
      org.opencontainers.image.description="JSON-RPC gateway in front of Ethereum nodes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${DATE}"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/rpcgate /rpcgate
# A numeric non-root user: scratch has no /etc/passwd, and Kubernetes'
# runAsNonRoot can only verify a numeric UID.
USER 65532:65532
# Public JSON-RPC listener and the admin listener (metrics); the config
# decides which addresses are bound.
EXPOSE 8545 8546
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/rpcgate", "health", "--url", "http://127.0.0.1:8545/readyz"]
ENTRYPOINT ["/rpcgate"]
CMD ["serve", "--config", "/etc/rpcgate/rpcgate.yaml"]
