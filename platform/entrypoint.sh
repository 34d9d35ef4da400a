#!/bin/sh
# Starts one role of the platform: web (migrates first), worker or beat.
set -eu
case "${1:-web}" in
  web)
    python manage.py migrate --noinput
    exec gunicorn metagen.wsgi:application --config platform/gunicorn.conf.py ;;
  worker)
    exec celery -A metagen worker --loglevel=INFO ;;
  beat)
    exec celery -A metagen beat --loglevel=INFO --schedule /tmp/celerybeat-schedule ;;
  *)
    exec "$@" ;;
esac
