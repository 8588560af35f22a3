# herald: build the single binary with Bun, ship it alone in a small image.
#
#   docker build -t herald .
#   docker run -p 8080:8080 herald            (config by env: -e API_KEY=... -e QUEUE_SIZE=...)

# Build stage: Node's image has npm; the `bun` devDependency carries the Bun binary.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json bunfig.toml ./
COPY src ./src
# Same flags as `npm run build`: --bytecode halves start-up time (docs/performance.md).
RUN node_modules/.bin/bun build --compile --minify --bytecode src/index.ts --outfile /out/herald

# Final stage: glibc (all the binary links, per ldd) and nothing else (no shell, no package manager), as a non-root user.
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/herald /herald
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
# herald handles SIGTERM with a graceful shutdown (see README, "Shutdown").
STOPSIGNAL SIGTERM
ENTRYPOINT ["/herald"]
