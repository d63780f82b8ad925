# ppod-audio in a container: Debian's Python 3.11, the CPU build of torch, the offline models.
#   docker build -t ppod .
#   docker run --rm -v "$PWD/raw_audio:/app/raw_audio" -v "$PWD/output:/app/output" \
#     ppod process raw_audio/<episode> -o output
# The build installs exactly what scripts/setup installs for a newcomer and runs `ppod doctor`,
# so an image that builds is one whose required components are present.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts/setup scripts/setup
COPY src ./src
RUN scripts/setup && .venv/bin/ppod doctor && rm -rf /root/.cache/pip
COPY raw_audio ./raw_audio
ENV PATH=/app/.venv/bin:$PATH
ENTRYPOINT ["ppod"]
CMD ["--help"]
