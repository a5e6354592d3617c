# trailseal in a container: `docker run --rm -v "$PWD:/work" trailseal verify`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY ledger ledger
COPY cli cli
COPY schemas schemas
RUN python -m pip install --no-cache-dir --upgrade pip \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 trailseal
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER trailseal
WORKDIR /work
ENTRYPOINT ["trailseal"]
CMD ["--help"]
