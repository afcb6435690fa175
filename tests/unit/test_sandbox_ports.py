"""Member ports: a run claims its pair for its whole life, so runs at once never share one."""
from __future__ import annotations

import socket

from sandbox.parts import member_ports as claim_ports

PAIRS = ((38080, 39100), (48080, 49100))  # not the real ones: other runs on this machine use those


def member_ports() -> tuple[int, int, list[socket.socket]]:
    return claim_ports(PAIRS)


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


def test_a_pair_whose_members_are_up_is_skipped_even_unclaimed() -> None:
    app, _, claim = member_ports()
    for sock in claim:
        sock.close()
    with socket.socket() as member:  # a run that only probed, with a member serving on that pair
        member.bind(("127.0.1.1", app))
        member.listen()
        other_app, _, other_claim = member_ports()
        for sock in other_claim:
            sock.close()
    assert other_app != app
