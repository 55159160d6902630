# marquee images: one image with every marquee-* binary; docker-compose.yml picks the command.
# Build stage: the Debian 12 toolchain from scripts/install-deps.sh --build. Runtime stage: only the
# shared libraries the binaries load (install-deps.sh --runtime), the schema and the feed samples.
# No secret is baked in: every URL and password comes from the environment at run time.

FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMARQUEE_TESTS=OFF -DMARQUEE_BENCH=OFF \
 && cmake --build /build -j "$(nproc)" \
 && install -D -m 0755 -t /out/bin /build/bin/marquee-* \
 && mkdir -p /out/share/marquee \
 && cp -r migrations /out/share/marquee/migrations \
 && cp -r fixtures/provider-samples /out/share/marquee/provider-samples

FROM debian:12-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && useradd --uid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin marquee
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/share/marquee/ /usr/share/marquee/
ENV MIGRATIONS_DIR=/usr/share/marquee/migrations \
    MOCK_DIR=/usr/share/marquee/provider-samples \
    LOG_LEVEL=info
# Numeric, so that Kubernetes can verify runAsNonRoot (deploy/k8s runs it as 10001 too).
USER 10001
CMD ["marquee-api", "--help"]
