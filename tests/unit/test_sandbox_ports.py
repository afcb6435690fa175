"""Member ports: a run claims its pair for its whole life, so runs at once never share one."""
from __future__ import annotations

from sandbox.parts import member_ports


def test_a_claimed_pair_is_not_handed_out_again_until_released() -> None:
    app, exporter, claim = member_ports()
    try:
        other_app, other_exporter, other_claim = member_ports()
        for sock in other_claim:
            sock.close()
        assert (other_app, other_exporter) != (app, exporter)
    finally:
        for sock in claim:
            sock.close()
    again = member_ports()
    for sock in again[2]:
        sock.close()
    assert again[:2] == (app, exporter)
