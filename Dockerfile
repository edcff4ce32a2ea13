# One image for web, worker, beat and the development ComfyUI server.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings that import cleanly; the real values come at run time.
RUN DEBUG=0 SECRET_KEY=build-only TOKEN_ENCRYPTION_KEYS=build-only-not-a-real-key= \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput

RUN useradd --create-home --uid 1000 creator && mkdir -p /app/var && chown -R creator /app/var
USER creator
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "creator_site.wsgi"]
