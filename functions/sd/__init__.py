"""Service discovery: the pool's running members as a Prometheus file_sd target file."""
