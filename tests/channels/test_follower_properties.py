"""Whatever signed bytes the store serves as a statement, a host refuses or follows: no crash."""

from __future__ import annotations

import json

from channelkit import Store, host
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nebsign.agent.channel import Action, ChannelFollower
from nebsign.channels.model import signature_paths
from nebsign.digest import sha256_bytes
from nebsign.signing import sign_digest


def _serve(store: Store, raw: bytes) -> None:
    sha = sha256_bytes(raw)
    sig = store.root / signature_paths(sha)[0]
    sig.parent.mkdir(parents=True, exist_ok=True)
    sig.write_bytes(sign_digest(sha, store.channel_key).to_json())  # signed: parsing is reached
    (store.root / "channels" / "global.json").write_bytes(raw)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_signed_garbage_or_mutations_are_refused(
    store: Store, tmp_path_factory: object, data: st.DataObject
) -> None:
    if not store.manifests:
        store.release("1.0.0")
        store.publish("1.0.0", 1, evidence=store.evidence("1.0.0"))
    good = json.loads((store.root / "channels/history/global/000000000001.json").read_bytes())
    key = data.draw(st.sampled_from(sorted(good)))
    value = data.draw(
        st.none()
        | st.booleans()
        | st.integers(-(2**60), 2**60)
        | st.text(max_size=30)
        | st.lists(st.text(max_size=5), max_size=2)
    )
    mutated = {**good, key: value}
    raw = data.draw(
        st.sampled_from(
            [
                json.dumps(
                    mutated, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                ).encode(),
                json.dumps(mutated).encode(),
            ]
        )
        | st.binary(max_size=300)
    )
    _serve(store, raw)
    base = tmp_path_factory.mktemp("host")  # type: ignore[attr-defined]
    kit = host(store, base)
    out = ChannelFollower(kit.policy(), str(store.root)).poll()
    if out.action is Action.INSTALLED:  # only an equivalent, valid statement may install
        assert kit.current_payload() == b"app 1.0.0\n"
    else:
        assert out.action is Action.REFUSED, out
        assert not (kit.root / "current").exists()
