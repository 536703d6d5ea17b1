FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY reminders ./reminders
COPY db ./db
RUN pip install --no-cache-dir . && useradd --create-home reminders && mkdir -p /var/spool/reminders \
    && chown reminders /var/spool/reminders
USER reminders
ENV REMINDERS_SPOOL_DIR=/var/spool/reminders
EXPOSE 8000
CMD ["reminders", "serve", "--host", "0.0.0.0", "--port", "8000"]
