"""`python -m benchmarks.s3server PORT`: moto's S3 application behind cheroot, on 127.0.0.1:PORT.

moto's own server (werkzeug's development server) closes the connection after every answer, so
each S3 request against it pays a new TCP connection on both sides, which SOS, like any
production HTTP server, does not make a client pay. The same WSGI application under cheroot
(the receiver's server) keeps connections alive, so a benchmark counts the S3 protocol work and
not werkzeug's connection handling. Benchmarks only; the tests and the sandbox use moto as it is.
"""
from __future__ import annotations

import sys

from cheroot import wsgi
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


def main(argv: list[str]) -> int:
    port = int(argv[0])
    server = wsgi.Server(("127.0.0.1", port), DomainDispatcherApplication(create_backend_app),
                         numthreads=32, server_name="moto-s3")
    try:
        server.start()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
