#!/bin/sh
# Starts one role of the platform: web (migrates first), worker or beat.
set -eu
case "${1:-web}" in
  web)
    python manage.py migrate --noinput
    exec gunicorn metagen.wsgi:application --config platform/gunicorn.conf.py ;;
  worker)
    # Two malloc arenas: release shard tasks otherwise keep one per thread and grow (bench/README.md).
    export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
    exec celery -A metagen worker --loglevel=INFO ;;
  beat)
    exec celery -A metagen beat --loglevel=INFO --schedule /tmp/celerybeat-schedule ;;
  *)
    exec "$@" ;;
esac
