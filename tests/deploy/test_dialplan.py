"""The shipped dialplan, checked for meaning: references, the handled-call contract, feature codes.

The contract (docs/architecture.md) is evaluated, not grepped: every ``AGI()`` to acd's
inbound/transfer scripts is run by a small interpreter (``tests/deploy/dialplan.py``) for every
combination of ACD_STATE × DIALSTATUS × AGISTATUS × overflow target the daemon can leave, and the
outcome is compared with the contract's rule written independently below.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.deploy.dialplan import (
    CONFIG_DIR,
    ROOT,
    Channel,
    Dialplan,
    Run,
    World,
    load_dialplan,
    parse_target,
    split_args,
    split_condition,
)

UNSET = None
ACD_STATES = [UNSET, "", "queued", "connected", "overflow", "done", "garbage"]
DIAL_STATUSES = [UNSET, "ANSWER", "NOANSWER", "BUSY", "CHANUNAVAIL", "CANCEL", "CONGESTION"]
AGI_STATUSES = ["SUCCESS", "FAILURE", "HANGUP"]
OVERFLOW_TARGETS = [
    UNSET,
    "voicemail@acd-overflow",
    "message@acd-overflow",
    "nowhere@acd-overflow",
    "0142000001@acd-inbound",
    "*40@acd-features",
    "garbage",
]
VALID_OVERFLOW = {"voicemail@acd-overflow": "VoiceMail", "message@acd-overflow": "Playback"}

FEATURE_CODES = {
    "*40": {"action": ["login"]},
    "*41": {"action": ["pause"], "reason": ["break"]},
    "*42": {"action": ["pause"], "reason": ["lunch"]},
    "*43": {"action": ["pause"], "reason": ["training"]},
    "*44": {"action": ["recovery"]},
    "*45": {"action": ["ready"]},
    "*46": {"action": ["wrapup_end"]},
    "*49": {"action": ["logout"]},
}
TRANSFER_NUMBERS = {"8001": "support", "8002": "billing", "8003": "support_en"}
EXAMPLE_SETTINGS = ROOT / "docker" / "acd.toml"
# Applications and functions the dialplan may use, and the module (required in modules.conf)
# that provides each; the core's own applications need no module.
CORE_APPS = {"NoOp", "Set", "Goto", "GotoIf", "Hangup", "Answer"}
APP_MODULES = {
    "AGI": "res_agi.so",
    "Queue": "app_queue.so",
    "Dial": "app_dial.so",
    "Playback": "app_playback.so",
    "VoiceMail": "app_voicemail.so",
    "ExecIf": "app_exec.so",
    "Log": "app_verbose.so",
    "Verbose": "app_verbose.so",
    "Return": "app_stack.so",  # the callback greeting, a Dial U() subroutine
    "Read": "app_read.so",
}
FUNCTION_MODULES = {
    "CUT": "func_cut.so",
    "DIALPLAN_EXISTS": "func_dialplan.so",
    "PJSIP_ENDPOINT": "func_pjsip_endpoint.so",
    "CHANNEL": "func_channel.so",
    "CALLERID": "func_callerid.so",
}


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return load_dialplan()


def acd_scripts(plan: Dialplan) -> list[tuple[str, str, int, str]]:
    """(context, extension, index of the AGI step, script path) of every AGI call to acd."""
    found = []
    for ctx, exten, step in plan.steps():
        if step.app == "AGI":
            url = step.args.split(",")[0]
            assert url.startswith(("agi://${ACD_FASTAGI}/", "agi://${ACD_FASTAGI_STANDBY}/")), (
                f"{step.where}: AGI to {url}"
            )
            host = url.split("/")[2]
            path = urlsplit(url.replace(host, "acd")).path.lstrip("/")
            index = ctx.extensions[exten].index(step)
            found.append((ctx.name, exten, index, path))
    return found


def daemon(
    state: str | None,
    dial_status: str | None,
    agi_status: str,
    overflow: str | None,
) -> World:
    """The daemon's footprint on the channel when its AGI session ends."""

    def agi(url: str, variables: dict[str, str]) -> None:
        variables["AGISTATUS"] = agi_status
        if agi_status == "FAILURE":
            return  # never connected: the daemon set nothing
        for name, value in (
            ("ACD_STATE", state),
            ("DIALSTATUS", dial_status),
            ("ACD_OVERFLOW_TARGET", overflow),
        ):
            if value is not None:
                variables[name] = value

    return World(agi=agi, queue_status="TIMEOUT", vm_status="SUCCESS")


def expected_outcome(
    state: str | None, dial_status: str | None, agi_status: str, overflow: str | None
) -> str:
    """The contract's rule (docs/architecture.md), independent of the dialplan's wording."""
    if agi_status == "HANGUP":
        return "hangup"
    if agi_status == "FAILURE":
        return "fallback"
    # DIALSTATUS is cleared before AGI(): ANSWER can only be the daemon's Dial to an advisor.
    if state == "done" or dial_status == "ANSWER":
        return "hangup"
    if state == "overflow" and overflow in VALID_OVERFLOW:
        return "overflow"
    return "fallback"


def outcome_of(run: Run, queue: str) -> str:
    """Classify a finished run: hung up at once, overflowed, or fell back to Queue()."""
    assert run.ended == "hangup", f"the channel must end with Hangup(), not {run.ended!r}"
    after_agi = run.names()[run.names().index("AGI") + 1 :]
    if after_agi == ["Hangup"]:
        return "hangup"
    if "Queue" in after_agi:
        queue_args = run.apps("Queue")[0]
        assert split_args(queue_args)[0] == queue, "the fallback queue is the caller's queue"
        first = after_agi.index("Queue")
        assert "Playback" in after_agi[:first], "a prompt before the fallback queue"
        assert after_agi[first + 1 :][:1] == ["Answer"], "queue timeout → voicemail/message"
        assert "VoiceMail" in after_agi[first:], "the fallback ends in voicemail, never silence"
        return "fallback"
    return "overflow"


def test_every_context_label_and_goto_target_exists(plan: Dialplan) -> None:
    """Every include, Goto and GotoIf target names an existing context, extension and priority."""
    problems = []
    for ctx in plan.contexts.values():
        problems += [
            f"[{ctx.name}] includes missing [{inc}]"
            for inc in ctx.includes
            if inc not in plan.contexts
        ]
    for ctx, exten, step in plan.steps():
        targets = []
        if step.app == "Goto":
            targets.append(step.args)
        elif step.app == "GotoIf":
            _, then, otherwise = split_condition(step.args)
            targets += [t for t in (then, otherwise) if t]
        for text in targets:
            target = parse_target(text, ctx.name, exten)
            if "${" in text:
                # Only the overflow jump is computed; the contract test exercises it.
                assert target.context == "${ACD_OVERFLOW_CONTEXT}", f"{step.where}: {text}"
                continue
            found = plan.find_extension(target.context, target.exten)
            if found is None:
                problems.append(f"{step.where}: {target.exten}@{target.context} does not exist")
                continue
            steps = plan.contexts[found[0]].extensions[found[1]]
            if not any(
                str(s.priority) == target.priority or s.label == target.priority for s in steps
            ):
                problems.append(f"{step.where}: no priority/label {target.priority!r}")
    assert problems == []


def test_every_variable_the_dialplan_reads_is_defined(plan: Dialplan) -> None:
    """Every ACD_* variable read is a global, set by the dialplan, or set by the daemon."""
    set_by_dialplan = {
        step.args.partition("=")[0] for _, _, step in plan.steps() if step.app == "Set"
    } | {"ACD_ARGS"}
    # The Variables of the originated legs' Originate (dialplan/acd-callback.conf): ACD_ARGS,
    # and ACD_CALLBACK_ID (callbacks) or ACD_OUTBOUND_ID and ACD_CAMPAIGN (campaign contacts).
    set_by_daemon = {
        "ACD_STATE",
        "ACD_OVERFLOW_TARGET",
        "ACD_CALLBACK_ID",
        "ACD_OUTBOUND_ID",
        "ACD_CAMPAIGN",
    }
    optional = {"ACD_PRIORITY", "ACD_RECORD"}
    defined = set(plan.globals) | set_by_dialplan | set_by_daemon | optional
    read = set()
    for _, _, step in plan.steps():
        read |= set(re.findall(r"\$\{(ACD_[A-Z_]+)", step.args))
    assert read - defined == set()


def test_pjsip_contexts_exist_in_the_dialplan(plan: Dialplan) -> None:
    """Each context named in pjsip.conf (advisors, trunk) is a dialplan context."""
    text = (CONFIG_DIR / "pjsip.conf").read_text(encoding="utf-8")
    contexts = set(re.findall(r"^context\s*=\s*(\S+)", text, re.MULTILINE))
    assert contexts == {"acd-advisors", "acd-inbound"}
    assert contexts <= set(plan.contexts)


def test_acd_is_reached_through_the_configured_fastagi_address(plan: Dialplan) -> None:
    """AGI calls use ${ACD_FASTAGI}, a global pointing at acd's FastAGI port, and known scripts."""
    assert plan.globals["ACD_FASTAGI"] == "127.0.0.1:4573"
    scripts = {path for _, _, _, path in acd_scripts(plan)}
    assert scripts == {"inbound", "transfer", "agent", "callback", "outbound"}


@pytest.mark.parametrize("entry", ["inbound", "transfer"])
def test_every_acd_call_follows_the_handled_call_contract(plan: Dialplan, entry: str) -> None:
    """Every ACD_STATE × DIALSTATUS × AGISTATUS × target branch after AGI obeys the contract."""
    sites = [(c, e) for c, e, _, path in acd_scripts(plan) if path == entry]
    assert sites, f"no AGI to acd's {entry} script"
    checked = 0
    for context, exten in sites:
        for state, dial, agi_status, overflow in itertools.product(
            ACD_STATES, DIAL_STATUSES, AGI_STATUSES, OVERFLOW_TARGETS
        ):
            # A transferred caller arrives with the previous session's variables: stale values
            # must not count as this session's.
            stale = {
                "ACD_STATE": "connected",
                "DIALSTATUS": "ANSWER",
                "ACD_OVERFLOW_TARGET": "voicemail@acd-overflow",
                "ACD_QUEUE": "support",
            }
            channel = Channel(plan, daemon(state, dial, agi_status, overflow), stale)
            run = channel.start(context, exten)
            want = expected_outcome(state, dial, agi_status, overflow)
            case = f"{exten}@{context} ACD_STATE={state} DIALSTATUS={dial} AGISTATUS={agi_status}"
            got = outcome_of(run, "support")
            assert got == want, f"{case} target={overflow}: {got} != {want} ({run.events})"
            if got == "overflow":
                assert overflow is not None
                assert VALID_OVERFLOW[overflow] in run.names()
            checked += 1
    assert checked == len(sites) * 7 * 7 * 3 * 7


@pytest.mark.parametrize("entry", ["0142000001", "transfer"])
def test_a_refused_acd_hands_the_call_to_the_standby_address(plan: Dialplan, entry: str) -> None:
    """With ACD_FASTAGI_STANDBY set, a call the first acd refuses (AGISTATUS FAILURE, nothing
    set) goes to the other acd with the same script and arguments, and the contract then
    follows what that one left; without it the refusal goes to the fallback."""
    tried: list[str] = []

    def agi(url: str, variables: dict[str, str]) -> None:
        tried.append(url)
        if url.startswith("agi://127.0.0.1:4573/"):
            variables["AGISTATUS"] = "FAILURE"
            return
        variables["AGISTATUS"] = "SUCCESS"
        variables["ACD_STATE"] = "done"

    context = "acd-inbound" if entry[0].isdigit() else "acd-call"
    stale = {"ACD_QUEUE": "support"}
    plan.globals["ACD_FASTAGI_STANDBY"] = "10.0.0.2:4573"
    try:
        run = Channel(plan, World(agi=agi), stale).start(context, entry)
    finally:
        plan.globals["ACD_FASTAGI_STANDBY"] = ""
    assert len(tried) == 2
    first, second = (urlsplit(u) for u in tried)
    assert (second.netloc, second.path, second.query) == ("10.0.0.2:4573", first.path, first.query)
    # The standby's session ended the call (done): hung up, no fallback.
    assert run.names()[-2:] == ["AGI", "Hangup"]
    assert "Queue" not in run.names()
    # One acd only: the refusal goes straight to the fallback.
    tried.clear()
    run = Channel(plan, World(agi=agi), stale).start(context, entry)
    assert len(tried) == 1
    assert outcome_of(run, "support") == "fallback"


def test_fallback_ends_in_a_message_when_voicemail_fails(plan: Dialplan) -> None:
    """If the fallback queue times out and voicemail fails, the caller hears a message, then bye."""
    world = daemon(None, None, "FAILURE", None)
    world.vm_status = "FAILED"
    run = Channel(plan, world).start("acd-inbound", "0142000002")
    assert run.apps("Queue")[0].split(",")[0] == "billing"
    assert run.names()[-3:] == ["Answer", "Playback", "Hangup"]
    assert run.apps("Playback")[-1] == plan.globals["ACD_SORRY_PROMPT"]


def example_queues() -> dict[str, str]:
    """Queue name → language in the example acd.toml shipped with the compose file."""
    data = tomllib.loads(EXAMPLE_SETTINGS.read_text(encoding="utf-8"))
    return {name: q.get("language", "fr") for name, q in data["queues"].items()}


def test_every_did_reaches_acd_with_its_queue_and_language(plan: Dialplan) -> None:
    """Each inbound number hands the caller to acd's inbound script with a known queue/language."""
    queues = example_queues()
    dids = [e for e in plan.contexts["acd-inbound"].extensions if e[0].isdigit()]
    assert len(dids) >= 4
    seen = set()
    for did in dids:
        run = Channel(plan, daemon("done", None, "SUCCESS", None)).start("acd-inbound", did)
        (url,) = run.apps("AGI")
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        assert parts.path == "/inbound", did
        queue = query["queue"][0]
        assert queue in queues, f"DID {did}: queue {queue} is not in {EXAMPLE_SETTINGS.name}"
        assert run.variables["CHANNEL(language)"] == queues[queue], did
        seen.add(queue)
        if "priority" in query:
            assert query["priority"][0].isdigit()
    assert seen == set(queues)


def test_priority_did_passes_the_priority_to_acd(plan: Dialplan) -> None:
    """The priority DID's AGI URL carries &priority=N after the queue."""
    run = Channel(plan, daemon("done", None, "SUCCESS", None)).start("acd-inbound", "0142000009")
    assert run.apps("AGI") == ["agi://127.0.0.1:4573/inbound?queue=support&priority=5"]


@pytest.mark.parametrize("number", ["0899999999", "+33899999999"])
def test_unknown_did_gets_a_message_not_silence(plan: Dialplan, number: str) -> None:
    """A number that maps to no queue, in either format, plays a message and hangs up."""
    run = Channel(plan, World()).start("acd-inbound", number)
    assert run.names() == ["Answer", "Playback", "Hangup"]


def test_fallback_without_a_queue_name_goes_to_voicemail(plan: Dialplan) -> None:
    """The fallback never calls Queue() without a name (which would drop the caller)."""
    world = daemon(None, None, "FAILURE", None)
    run = Channel(plan, world, {"ACD_QUEUE": ""}).start("acd-call", "transfer")
    assert run.apps("Queue") == []
    assert run.apps("VoiceMail") == [plan.globals["ACD_VOICEMAIL_BOX"] + ",u"]
    assert run.ended == "hangup"


def test_example_overflow_targets_exist_in_the_dialplan(plan: Dialplan) -> None:
    """Each `extension:` overflow of the example acd.toml is an acd-overflow* extension."""
    data = tomllib.loads(EXAMPLE_SETTINGS.read_text(encoding="utf-8"))
    targets = [q["overflow"] for q in data["queues"].values() if "overflow" in q]
    assert targets
    for target in targets:
        kind, _, value = target.partition(":")
        if kind != "extension":
            continue
        exten, _, context = value.partition("@")
        assert context.startswith("acd-overflow"), target
        assert plan.find_extension(context, exten) == (context, exten), target


@pytest.mark.parametrize(("code", "query"), FEATURE_CODES.items())
def test_feature_code_reaches_the_agent_script(
    plan: Dialplan, code: str, query: dict[str, list[str]]
) -> None:
    """Each advisor feature code answers and calls acd's agent script with its action, once."""
    run = Channel(plan, daemon(None, None, "SUCCESS", None), endpoint="1001").start(
        "acd-advisors", code
    )
    (url,) = run.apps("AGI")
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("127.0.0.1:4573", "/agent")
    assert parse_qs(parts.query) == query
    assert "pin" not in url.lower()
    assert run.names()[0] == "Answer"
    assert run.ended == "hangup"


def test_feature_codes_are_the_only_agent_actions(plan: Dialplan) -> None:
    """No AGI to the agent script exists outside the documented feature codes."""
    sites = {exten for _, exten, _, path in acd_scripts(plan) if path == "agent"}
    assert sites == set(FEATURE_CODES)


def test_feature_code_with_acd_down_plays_an_error_tone(plan: Dialplan) -> None:
    """When acd is unreachable a feature code ends with an error tone, not silence."""
    run = Channel(plan, daemon(None, None, "FAILURE", None), endpoint="1001").start(
        "acd-advisors", "*45"
    )
    assert run.names()[-2:] == ["Playback", "Hangup"]
    assert run.apps("Playback") == ["beeperr"]


def test_callers_cannot_reach_feature_codes_or_transfer_targets(plan: Dialplan) -> None:
    """The trunk's context reaches neither the agent script nor the transfer script."""
    for exten in [*FEATURE_CODES, *TRANSFER_NUMBERS]:
        run = Channel(plan, daemon("done", None, "SUCCESS", None)).start("acd-inbound", exten)
        assert not any("/agent" in u or "/transfer" in u for u in run.apps("AGI")), exten


@pytest.mark.parametrize("kind", ["callback", "outbound"])
def test_an_originated_leg_runs_the_agi_session_acd_named_then_hangs_up(
    plan: Dialplan, kind: str
) -> None:
    """[acd-originated]: an answered callback or campaign leg (AMI Originate into the context,
    never Application AGI, which needs the system class) reaches acd's script at ACD_FASTAGI
    with the query acd set in ACD_ARGS, then the standby's when refused, and is hung up."""
    args = {"ACD_ARGS": "id=x-1%232"}
    run = Channel(plan, daemon(None, None, "SUCCESS", None), args).start("acd-originated", kind)
    assert run.apps("AGI") == [f"agi://127.0.0.1:4573/{kind}?id=x-1%232"]
    assert run.names()[-2:] == ["AGI", "Hangup"]
    standby = {**args, "ACD_FASTAGI_STANDBY": "10.0.0.2:4573"}
    run = Channel(plan, daemon(None, None, "FAILURE", None), standby).start("acd-originated", kind)
    assert run.apps("AGI") == [
        f"agi://127.0.0.1:4573/{kind}?id=x-1%232",
        f"agi://10.0.0.2:4573/{kind}?id=x-1%232",
    ]


@pytest.mark.parametrize(("number", "queue"), TRANSFER_NUMBERS.items())
def test_transfer_number_hands_the_caller_back_to_acd(
    plan: Dialplan, number: str, queue: str
) -> None:
    """An advisor's transfer to 80xx reaches acd's transfer script for that queue."""
    run = Channel(plan, daemon("done", None, "SUCCESS", None), endpoint="1001").start(
        "acd-advisors", number
    )
    assert run.apps("AGI") == [f"agi://127.0.0.1:4573/transfer?queue={queue}"]
    assert queue in example_queues()


def test_advisor_can_dial_a_colleague_but_not_other_numbers(plan: Dialplan) -> None:
    """Dialling another advisor's endpoint rings it; any other number is refused with a message."""
    world = World(endpoints={"1002": {"context": "acd-advisors"}})
    run = Channel(plan, world, endpoint="1001").start("acd-advisors", "1002")
    assert run.apps("Dial") == ["PJSIP/1002,30"]
    run = Channel(plan, world, endpoint="1001").start("acd-advisors", "0612345678")
    assert run.apps("Dial") == []
    assert run.apps("Playback") == ["pbx-invalid"]


def required_modules() -> set[str]:
    text = (CONFIG_DIR / "modules.conf").read_text(encoding="utf-8")
    return set(re.findall(r"^require\s*=\s*(\S+)", text, re.MULTILINE))


def test_every_application_and_function_comes_from_a_required_module(plan: Dialplan) -> None:
    """modules.conf requires the module behind each application and function the dialplan uses."""
    required = required_modules()
    for _, _, step in plan.steps():
        assert step.app in CORE_APPS or step.app in APP_MODULES, f"{step.where}: {step.app}"
        if step.app in APP_MODULES:
            assert APP_MODULES[step.app] in required, step.app
        for function in re.findall(r"\$\{([A-Z_]+)\(", step.args):
            assert FUNCTION_MODULES[function] in required, f"{step.where}: {function}"


def test_a_box_of_several_names_itself_in_the_agi_url(plan: Dialplan) -> None:
    """With ACD_PBX set (a second box sharing an address), inbound and transfer URLs say pbx=."""
    assert plan.globals["ACD_PBX"] == ""
    box_b = {"ACD_PBX": "b"}
    run = Channel(plan, daemon("done", None, "SUCCESS", None), box_b).start(
        "acd-inbound", "0142000009"
    )
    assert run.apps("AGI") == ["agi://127.0.0.1:4573/inbound?queue=support&priority=5&pbx=b"]
    run = Channel(plan, daemon("done", None, "SUCCESS", None), box_b, endpoint="1001").start(
        "acd-advisors", "8001"
    )
    assert run.apps("AGI") == ["agi://127.0.0.1:4573/transfer?queue=support&pbx=b"]


def test_a_call_over_the_inter_pbx_trunk_rings_the_advisors_phone(plan: Dialplan) -> None:
    """A call from another box's trunk, for an advisor's endpoint, is put through to the phone."""
    run = Channel(plan, World()).start("from-pbx", "1001")
    assert run.apps("Dial") == ["PJSIP/1001"]
