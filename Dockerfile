# The fulfil image: `fulfil worker` by default, `fulfil migrate` as the compose setup job.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY . /src
RUN pip install /src

RUN useradd --create-home --uid 10001 fulfil
USER fulfil
WORKDIR /home/fulfil

CMD ["fulfil", "worker"]
