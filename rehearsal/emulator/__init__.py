"""moto in server mode, extended where our templates need it (see rehearsal/README.md)."""
