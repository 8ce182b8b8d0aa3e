"""`fulfil chaos`: orders placed while workers, the Temporal dev server and PostgreSQL are
killed and restarted, then checked for anything stuck, lost or done twice."""
