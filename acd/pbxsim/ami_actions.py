"""AMI actions over the PBX model, worded as Asterisk 22 answers them (S5/S6 recordings)."""

from __future__ import annotations

import asyncio
import time

from acd.pbxsim.ami_codec import Message
from acd.pbxsim.ami_server import (
    ActionHandler,
    AmiSession,
    Headers,
    Reply,
    error,
    event_list,
    respond,
    success,
)
from acd.pbxsim.app_queue import AppQueue
from acd.pbxsim.channels import STATE_DESC, Bridge, Channel
from acd.pbxsim.originate import OriginateRequest, Originator
from acd.pbxsim.pbx import Pbx
from acd.pbxsim.routines import Routines

# The applications an Originate may run only for a user with the system class (manager.c
# originate_app_permissions, matched anywhere in the name, case-insensitive; Queue() is refused
# only with its AGI argument, not modelled).
_SYSTEM_APPLICATIONS = (
    "agi",
    "dbdeltree",
    "exec",
    "externalivr",
    "mixmonitor",
    "originate",
    "reload",
    "system",
)


def _has_system(session: AmiSession) -> bool:
    """The session's user may write the system class (``all`` included)."""
    return session.user is not None and bool({"system", "all"} & set(session.user.write))


DEVICE_WORDS = {
    "NOT_INUSE": "Not in use",
    "INUSE": "In use",
    "RINGING": "Ringing",
    "RINGINUSE": "Ring+Inuse",
    "UNAVAILABLE": "Unavailable",
    "BUSY": "Busy",
    "ONHOLD": "On Hold",
}


def parse_callerid(value: str) -> tuple[str, str]:
    """``"ACD Engine" <7000>`` → (7000, ACD Engine)."""
    value = value.strip()
    if "<" in value and value.endswith(">"):
        name, _, num = value[:-1].partition("<")
        return num.strip(), name.strip().strip('"')
    return value, ""


def format_duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class Actions:
    """The action table the AMI server dispatches to."""

    def __init__(self, pbx: Pbx, app_queue: AppQueue, routines: Routines) -> None:
        self.pbx = pbx
        self.app_queue = app_queue
        self.routines = routines
        self.originator = Originator(pbx, routines)
        self._tasks: set[asyncio.Task[None]] = set()

    def table(self) -> dict[str, ActionHandler]:
        return {
            "Ping": self.ping,
            "Originate": self.originate,
            "Redirect": self.redirect,
            "Hangup": self.hangup,
            "Bridge": self.bridge,
            "Setvar": self.setvar,
            "Getvar": self.getvar,
            "CoreShowChannels": self.core_show_channels,
            "DeviceStateList": self.device_state_list,
            "PJSIPShowEndpoints": self.pjsip_show_endpoints,
            "PJSIPShowContacts": self.pjsip_show_contacts,
            "PJSIPShowAors": self.pjsip_show_aors,
            "PJSIPShowRegistrationInboundContactStatuses": self.pjsip_inbound_contacts,
            "Status": self.status,
            "Command": self.command,
            "CoreStatus": self.core_status,
            "QueuePause": self.queue_pause,
            "QueueAdd": self.queue_add,
            "QueueStatus": self.queue_status,
            "QueueSummary": self.queue_summary,
            "BridgeList": self.bridge_list,
            "ExtensionStateList": self.extension_state_list,
            "PJSIPShowEndpoint": self.pjsip_show_endpoint,
            "QueueRemove": self.queue_remove,
            "ListCommands": self.list_commands,
            "UserEvent": self.user_event,
            "ControlPlayback": self.control_playback,
            "MixMonitor": self.mix_monitor,
            "StopMixMonitor": self.stop_mix_monitor,
            "MixMonitorMute": self.mix_monitor_mute,
            "PlayDTMF": self.play_dtmf,
        }

    # -- recording (S16) ------------------------------------------------------------------------

    async def mix_monitor(self, session: AmiSession, message: Message) -> Reply:
        # app_mixmonitor.c registers the action with the system class alone (22.10.1).
        if not _has_system(session):
            return error(message, "Permission denied")
        channel = self.pbx.find_channel(message.get("Channel") or "")
        if channel is None:
            return error(message, "No such channel")
        filename = message.get("File") or ""
        if not filename:
            return error(message, "Could not start monitoring channel")
        options = message.get("Options") or ""
        recording = self.routines.mixmonitor.start(channel, filename, options)
        # The id is only given with the i() option; the ack has no Message (S16 a).
        extra = [("MixMonitorID", recording.ident)] if "i(" in options else []
        return Reply(respond(message, "Success", *extra))

    async def stop_mix_monitor(self, session: AmiSession, message: Message) -> Reply:
        channel = self.pbx.find_channel(message.get("Channel") or "")
        if channel is None:
            return error(message, "No such channel")
        ident = message.get("MixMonitorID") or None
        if not self.routines.mixmonitor.recording(channel, ident):
            return error(message, "Could not stop monitoring channel")
        # The ack precedes MixMonitorStop, in the same ms (S16 a).
        session.send_reply(Reply(respond(message, "Success")))
        self.routines.mixmonitor.stop(channel, ident)
        return Reply([], sent=True)

    async def mix_monitor_mute(self, session: AmiSession, message: Message) -> Reply:
        # Not in the recordings: wording and the MixMonitorMute event from Asterisk's docs.
        channel = self.pbx.find_channel(message.get("Channel") or "")
        if channel is None:
            return error(message, "No such channel")
        direction = (message.get("Direction") or "both").lower()
        if direction not in ("read", "write", "both"):
            return error(message, "Invalid direction specified. Must be read, write or both")
        state = (message.get("State") or "").lower() in ("1", "yes", "true", "on")
        if not self.routines.mixmonitor.recording(channel, None):
            return error(message, "Cannot set mute flag")
        session.send_reply(Reply(respond(message, "Success")))
        self.routines.mixmonitor.mute(channel, direction, state)
        return Reply([], sent=True)

    async def ping(self, session: AmiSession, message: Message) -> Reply:
        return Reply(
            respond(message, "Success", ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}"))
        )

    async def play_dtmf(self, session: AmiSession, message: Message) -> Reply:
        # Not in the recordings: manager.c action_playdtmf. ``Receive: yes`` queues the digit on
        # the channel's read side, as if its phone had pressed it (how acd switches ChanSpy's
        # mode from the page); without it the digit is sent out to the phone.
        channel = self.pbx.find_channel(message.get("Channel") or "")
        if channel is None:
            return error(message, "Channel not found")
        digit = message.get("Digit") or ""
        if not digit:
            return error(message, "No digit specified")
        if (message.get("Receive") or "").lower() in ("yes", "true", "1", "on"):
            self.pbx.press_key(channel, digit[0], mode="info")
        return success(message, "DTMF successfully queued")

    async def control_playback(self, session: AmiSession, message: Message) -> Reply:
        # Not in the recordings: wording from app_controlplayback's manager action.
        name = message.get("Channel")
        if not name:
            return error(message, "Channel name not specified")
        control = (message.get("Control") or "").lower()
        if not control:
            return error(message, "Control type not specified")
        channel = self.pbx.find_channel(name)
        if channel is None:
            return error(message, "No such channel")
        if control not in ("stop", "forward", "reverse", "pause", "restart"):
            return error(message, "Unknown control type")
        if control == "stop":
            channel.stop_playback.set()
        return Reply(respond(message, "Success"))

    async def user_event(self, session: AmiSession, message: Message) -> Reply:
        name = message.get("UserEvent")
        if not name:
            return error(message, "UserEvent header missing")
        headers = [(k, v) for k, v in message.headers if k.lower() not in ("action", "actionid")]
        # astman_send_ack without a message: just Response (and ActionID).
        session.send_reply(Reply(respond(message, "Success")))
        self.pbx.emit("UserEvent", "user", headers)
        return Reply([], sent=True)

    async def list_commands(self, session: AmiSession, message: Message) -> Reply:
        lines = [(name, f"{name}.  (Priv: call,all)") for name in sorted(self.table())]
        return Reply(respond(message, "Success", *lines))

    # -- call control ---------------------------------------------------------------------------

    async def originate(self, session: AmiSession, message: Message) -> Reply:
        target = message.get("Channel")
        if not target:
            return error(message, "Channel not specified")
        exten = message.get("Exten") or ""
        application = message.get("Application") or ""
        if not exten and not application:
            return error(message, "Exten not specified")
        # manager.c originate_app_permissions: these applications need the system class.
        lowered = application.lower()
        if any(word in lowered for word in _SYSTEM_APPLICATIONS) and not _has_system(session):
            return error(message, "Originate Access Forbidden: app or data blacklisted")
        timeout_ms = message.get("Timeout") or "30000"
        priority = message.get("Priority") or "1"
        if not timeout_ms.isdigit() or not priority.isdigit():
            return error(
                message, "Invalid timeout" if not timeout_ms.isdigit() else "Invalid priority"
            )
        num, name = parse_callerid(message.get("CallerID") or "")
        variables = {}
        for assignment in message.get_all("Variable"):
            for part in assignment.split(","):
                key, _, value = part.partition("=")
                if key:
                    variables[key.strip()] = value
        is_async = (message.get("Async") or "false").lower() in ("true", "yes", "1")
        request = OriginateRequest(
            target=target,
            application=application,
            data=message.get("Data") or "",
            context=message.get("Context") or "default",
            exten=exten,
            priority=int(priority),
            timeout=int(timeout_ms) / 1000 * self.pbx.config.timings.time_scale,
            caller_num=num,
            caller_name=name,
            variables=variables,
            channel_id=message.get("ChannelId"),
            action_id=message.action_id,
            is_async=is_async,
        )
        outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self.originator.run(request, outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if is_async:
            return success(message, "Originate successfully queued")
        if await outcome:
            return success(message, "Originate successfully queued")
        return error(message, "Originate failed")

    async def redirect(self, session: AmiSession, message: Message) -> Reply:
        name = message.get("Channel")
        if not name:
            return error(message, "Channel not specified")
        if not message.get("Context"):
            return error(message, "Context not specified")
        if not message.get("Exten"):
            return error(message, "Exten not specified")
        channel = self.pbx.find_channel(name)
        if channel is None:
            return error(message, "No such channel")
        self.pbx.stop_moh(channel)
        channel.context = message.get("Context") or channel.context
        channel.exten = message.get("Exten") or channel.exten
        channel.priority = int(message.get("Priority") or "1")
        return success(message, "Redirect successful")

    async def hangup(self, session: AmiSession, message: Message) -> Reply:
        name = message.get("Channel")
        if not name:
            return error(message, "No channel specified")
        channel = self.pbx.find_channel(name)
        if channel is None or channel.dead:
            return error(message, "No such channel")
        cause = int(message.get("Cause") or "16")
        reply = success(message, "Channel Hungup")
        session.send_reply(reply)
        self.pbx.request_hangup(channel, cause)
        return Reply([], sent=True)

    async def bridge(self, session: AmiSession, message: Message) -> Reply:
        first_name = message.get("Channel1") or ""
        second_name = message.get("Channel2") or ""
        first = self.pbx.find_channel(first_name)
        if first is None:
            return error(message, f"Channel1 does not exist: {first_name}")
        second = self.pbx.find_channel(second_name)
        if second is None:
            return error(message, f"Channel2 does not exist: {second_name}")
        session.send_reply(success(message, "Channels have been bridged"))
        for channel in (first, second):
            if channel.pull_from_agi is not None:
                # A channel inside FastAGI leaves the session (its command returns -1, then
                # HANGUP) and continues in the dialplan after AGI() once the bridge ends.
                channel.pull_from_agi()
            self.pbx.stop_moh(channel)
            # The bridge's after-goto is the next priority, published from the BridgeEnter
            # on (S5: agent3 parked in MusicOnHold at 3 enters at 4).
            channel.priority += 1
            if channel.bridge is not None:
                self.pbx.bridge_leave(channel.bridge, channel)
        # An AMI Bridge re-links the second channel to the first one's Linkedid.
        second.linkedid = first.linkedid
        self.pbx.bridge_enter(Bridge(by_dial=False), [first, second])
        return Reply([], sent=True)

    async def setvar(self, session: AmiSession, message: Message) -> Reply:
        variable = message.get("Variable")
        if not variable:
            return error(message, "No variable specified")
        value = message.get("Value") or ""
        name = message.get("Channel")
        if name:
            channel = self.pbx.find_channel(name)
            if channel is None:
                return error(message, "No such channel")
            channel.variables[variable] = value
        else:
            self.pbx.global_variables[variable] = value
        return success(message, "Variable Set")

    async def getvar(self, session: AmiSession, message: Message) -> Reply:
        variable = message.get("Variable")
        if not variable:
            return error(message, "No variable specified")
        name = message.get("Channel")
        value: str | None
        if name:
            channel = self.pbx.find_channel(name)
            if channel is None:
                return error(message, "No such channel")
            builtin = {
                "CALLERID(num)": channel.caller_num,
                "CALLERID(name)": channel.caller_name,
                "CHANNEL": channel.name,
                "UNIQUEID": channel.uniqueid,
            }
            value = builtin.get(variable, channel.variables.get(variable))
        else:
            value = self.pbx.global_variables.get(variable)
        return Reply(respond(message, "Success", ("Variable", variable), ("Value", value or "")))

    # -- lists ----------------------------------------------------------------------------------

    def _live_channels(self) -> list[Channel]:
        return [c for c in self.pbx.channels.values() if not c.destroyed]

    async def core_show_channels(self, session: AmiSession, message: Message) -> Reply:
        now = time.monotonic()
        items: list[Headers] = []
        for channel in self._live_channels():
            items.append(
                [
                    ("Event", "CoreShowChannel"),
                    *channel.headers(),
                    ("Application", channel.application),
                    ("ApplicationData", channel.application_data),
                    ("Duration", format_duration(now - channel.created_at)),
                    ("BridgeId", channel.bridge.uniqueid if channel.bridge else ""),
                ]
            )
        return event_list(message, "Channels will follow", "CoreShowChannelsComplete", items)

    async def status(self, session: AmiSession, message: Message) -> Reply:
        name = message.get("Channel")
        channels = self._live_channels()
        if name:
            found = self.pbx.find_channel(name)
            if found is None:
                return error(message, "No such channel")
            channels = [found]
        wanted = [v.strip() for v in (message.get("Variables") or "").split(",") if v.strip()]
        now = time.monotonic()
        items: list[Headers] = []
        for channel in channels:
            item: Headers = [
                ("Event", "Status"),
                ("Privilege", "Call"),
                *channel.headers(),
                ("Type", "PJSIP"),
                ("DNID", ""),
                ("EffectiveConnectedLineNum", channel.connected_num),
                ("EffectiveConnectedLineName", channel.connected_name),
                ("TimeToHangup", "0"),
                ("BridgeID", channel.bridge.uniqueid if channel.bridge else ""),
                ("Application", channel.application),
                ("Data", channel.application_data),
                ("Nativeformats", "(ulaw)"),
                ("Readformat", "ulaw"),
                ("Readtrans", ""),
                ("Writeformat", "ulaw"),
                ("Writetrans", ""),
                ("Callgroup", "0"),
                ("Pickupgroup", "0"),
                ("Seconds", str(int(now - channel.created_at))),
            ]
            item.extend(("Variable", f"{v}={channel.variables.get(v, '')}") for v in wanted)
            items.append(item)
        reply = event_list(
            message, "Channel status will follow", "StatusComplete", items, action_id_last=True
        )
        reply.events[-1].append(("Items", str(len(items))))
        return reply

    async def device_state_list(self, session: AmiSession, message: Message) -> Reply:
        items: list[Headers] = [
            [("Event", "DeviceStateChange"), ("Device", device), ("State", state)]
            for device, state in self.pbx.devices.items()
        ]
        return event_list(
            message, "Device State Changes will follow", "DeviceStateListComplete", items
        )

    async def pjsip_show_endpoints(self, session: AmiSession, message: Message) -> Reply:
        items: list[Headers] = []
        for phone in self.pbx.phones.values():
            state = self.pbx.devices.get(phone.device, "UNAVAILABLE")
            active = sum(1 for c in self._live_channels() if c.endpoint == phone.name)
            contact = f"{phone.name}/sip:{phone.name}@127.0.0.1:5060," if phone.has_contact else ""
            items.append(
                [
                    ("Event", "EndpointList"),
                    ("ObjectType", "endpoint"),
                    ("ObjectName", phone.name),
                    ("Transport", "transport-udp"),
                    ("Aor", phone.name),
                    ("Auths", ""),
                    ("OutboundAuths", ""),
                    ("Contacts", contact),
                    ("DeviceState", DEVICE_WORDS.get(state, "Unknown")),
                    ("ActiveChannels", str(active)),
                ]
            )
        trunk = self.pbx.config.trunk
        trunk_state = self.pbx.devices.get(f"PJSIP/{trunk}", "UNAVAILABLE")
        trunk_active = sum(1 for c in self._live_channels() if c.endpoint == trunk)
        items.append(
            [
                ("Event", "EndpointList"),
                ("ObjectType", "endpoint"),
                ("ObjectName", trunk),
                ("Transport", "transport-udp"),
                ("Aor", ""),
                ("Auths", ""),
                ("OutboundAuths", ""),
                ("DeviceState", DEVICE_WORDS.get(trunk_state, "Unknown")),
                ("ActiveChannels", str(trunk_active)),
            ]
        )
        return event_list(
            message,
            "A listing of Endpoints follows, presented as EndpointList events",
            "EndpointListComplete",
            items,
        )

    async def pjsip_show_contacts(self, session: AmiSession, message: Message) -> Reply:
        # Static AOR contacts are not listed; only registered (dynamic) ones are (S5, S11).
        items: list[Headers] = []
        for phone in self.pbx.phones.values():
            if not (phone.dynamic and phone.has_contact):
                continue
            items.append(
                [
                    ("Event", "ContactList"),
                    ("ObjectType", "contact"),
                    ("ObjectName", f"{phone.name};@{phone.name}"),
                    ("ViaAddr", "127.0.0.1"),
                    ("Endpoint", phone.name),
                    ("Aor", phone.name),
                    ("Uri", phone.contact_uri),
                    ("Status", "Reachable" if phone.reachable else "Unreachable"),
                ]
            )
        if not items:
            # Recorded verbatim: the message ends with a stray LF before the CRLF.
            return error(message, "No Contacts found\n")
        return event_list(
            message,
            "A listing of Contacts follows, presented as ContactList events",
            "ContactListComplete",
            items,
        )

    async def command(self, session: AmiSession, message: Message) -> Reply:
        text = (message.get("Command") or "").strip()
        lines: list[str] = []
        if text == "core show channels concise":
            for c in self._live_channels():
                lines.append(
                    "!".join(
                        [
                            c.name,
                            c.context,
                            c.exten,
                            str(c.priority),
                            STATE_DESC[c.state],
                            c.application,
                            c.application_data,
                            c.caller_num,
                            "",
                            "",
                            "3",
                            str(int(time.monotonic() - c.created_at)),
                            c.bridge.uniqueid if c.bridge else "",
                            c.uniqueid,
                        ]
                    )
                )
        elif text == "core show version":
            lines.append("Asterisk 22.10.1 built by pbxsim")
        else:
            lines.append(
                f"No such command '{text}' (type 'core show help {text}' for other "
                "possible commands)"
            )
        return Reply(
            respond(
                message,
                "Success",
                ("Message", "Command output follows"),
                *[("Output", line) for line in lines],
            )
        )

    async def core_status(self, session: AmiSession, message: Message) -> Reply:
        started = time.gmtime(self.pbx.started_at)
        return Reply(
            respond(
                message,
                "Success",
                ("CoreStartupDate", time.strftime("%Y-%m-%d", started)),
                ("CoreStartupTime", time.strftime("%H:%M:%S", started)),
                ("CoreReloadDate", time.strftime("%Y-%m-%d", started)),
                ("CoreReloadTime", time.strftime("%H:%M:%S", started)),
                ("CoreCurrentCalls", str(len(self._live_channels()))),
                ("CoreProcessedCalls", str(self.pbx.counters.channels_created)),
            )
        )

    async def queue_pause(self, session: AmiSession, message: Message) -> Reply:
        interface = message.get("Interface")
        paused_value = message.get("Paused")
        if not interface or not paused_value:
            return error(message, "Need 'Interface' and 'Paused' parameters.")
        paused = paused_value.lower() in ("true", "yes", "1")
        if not self.app_queue.has_member(interface, message.get("Queue")):
            return error(message, "Interface not found")
        session.send_reply(
            success(
                message,
                "Interface paused successfully" if paused else "Interface unpaused successfully",
            )
        )
        self.app_queue.pause(interface, paused, message.get("Reason") or "", message.get("Queue"))
        return Reply([], sent=True)

    async def queue_add(self, session: AmiSession, message: Message) -> Reply:
        interface = message.get("Interface")
        if not interface:
            return error(message, "'Interface' not specified.")
        queue = message.get("Queue") or ""
        if not queue:
            return error(message, "'Queue' not specified.")
        known = self.app_queue.queues.get(queue)
        if known is None:
            return error(message, "Unable to add interface to queue: No such queue")
        if interface in known.members:
            return error(message, "Unable to add interface: Already there")
        session.send_reply(success(message, "Added interface to queue"))
        self.app_queue.add_member(
            queue, interface, message.get("MemberName") or "", message.get("Penalty") or "0"
        )
        return Reply([], sent=True)

    async def queue_remove(self, session: AmiSession, message: Message) -> Reply:
        interface = message.get("Interface")
        queue = message.get("Queue")
        if not interface or not queue:
            return error(message, "Need 'Queue' and 'Interface' parameters.")
        outcome = self.app_queue.remove_member(queue, interface)
        if outcome == "no_queue":
            return error(message, "Unable to remove interface from queue: No such queue")
        if outcome == "missing":
            return error(message, "Unable to remove interface: Not there")
        return success(message, "Removed interface from queue")

    async def bridge_list(self, session: AmiSession, message: Message) -> Reply:
        items: list[Headers] = [
            [("Event", "BridgeListItem"), *bridge.headers()] for bridge in self.pbx.bridges.values()
        ]
        return event_list(message, "Bridge listing will follow", "BridgeListComplete", items)

    async def extension_state_list(self, session: AmiSession, message: Message) -> Reply:
        return event_list(
            message, "Extension Statuses will follow", "ExtensionStateListComplete", []
        )

    async def pjsip_show_endpoint(self, session: AmiSession, message: Message) -> Reply:
        name = message.get("Endpoint") or ""
        phone = self.pbx.phones.get(name)
        if phone is None:
            return error(message, f"Unable to retrieve endpoint {name}")
        state = self.pbx.devices.get(phone.device, "UNAVAILABLE")
        items: list[Headers] = [
            [
                ("Event", "EndpointDetail"),
                ("ObjectType", "endpoint"),
                ("ObjectName", name),
                ("Context", phone.config.context),
                ("Callerid", f'"{phone.config.display_name}" <{phone.config.number}>'),
                ("Aors", name),
                ("DeviceState", DEVICE_WORDS.get(state, "Unknown")),
            ]
        ]
        return event_list(
            message,
            "Following are Events for each object associated with the Endpoint",
            "EndpointDetailComplete",
            items,
        )

    async def queue_status(self, session: AmiSession, message: Message) -> Reply:
        wanted = message.get("Queue")
        items: list[Headers] = []
        for queue in self.app_queue.queues.values():
            if wanted and queue.name != wanted:
                continue
            items.append(
                [
                    ("Event", "QueueParams"),
                    ("Queue", queue.name),
                    ("Max", "0"),
                    ("Strategy", "leastrecent"),
                    ("Calls", str(len(queue.waiting))),
                    ("Holdtime", str(queue.holdtime)),
                    ("TalkTime", str(queue.talktime)),
                    ("Completed", str(queue.completed)),
                    ("Abandoned", str(queue.abandoned)),
                    ("ServiceLevel", "0"),
                    ("ServicelevelPerf", "0.0"),
                    ("ServicelevelPerf2", "0.0"),
                    ("Weight", "0"),
                ]
            )
            for member in queue.members.values():
                headers = self.app_queue.member_headers(queue, member)
                renamed = [
                    ("Name" if k == "MemberName" else "Location" if k == "Interface" else k, v)
                    for k, v in headers
                    if k != "Ringinuse"
                ]
                items.append([("Event", "QueueMember"), *renamed])
        return event_list(
            message, "Queue status will follow", "QueueStatusComplete", items, action_id_last=True
        )

    async def queue_summary(self, session: AmiSession, message: Message) -> Reply:
        items: list[Headers] = []
        for queue in self.app_queue.queues.values():
            available = sum(1 for m in queue.members.values() if m.status == 1 and not m.paused)
            items.append(
                [
                    ("Event", "QueueSummary"),
                    ("Queue", queue.name),
                    ("LoggedIn", str(len(queue.members))),
                    ("Available", str(available)),
                    ("Callers", str(len(queue.waiting))),
                    ("HoldTime", str(queue.holdtime)),
                    ("TalkTime", str(queue.talktime)),
                    ("LongestHoldTime", str(self.app_queue.longest_hold(queue))),
                ]
            )
        return event_list(
            message, "Queue summary will follow", "QueueSummaryComplete", items, action_id_last=True
        )

    async def pjsip_show_aors(self, session: AmiSession, message: Message) -> Reply:
        items: list[Headers] = []
        for phone in self.pbx.phones.values():
            contact = f"{phone.name}/{phone.contact_uri}" if phone.has_contact else ""
            items.append(
                [
                    ("Event", "AorList"),
                    ("ObjectType", "aor"),
                    ("ObjectName", phone.name),
                    ("MaxContacts", "1"),
                    ("Contacts", contact),
                    ("QualifyFrequency", "2" if phone.dynamic else "0"),
                ]
            )
        return event_list(
            message,
            "A listing of AORs follows, presented as AorList events",
            "AorListComplete",
            items,
        )

    async def pjsip_inbound_contacts(self, session: AmiSession, message: Message) -> Reply:
        items: list[Headers] = [
            [
                ("Event", "ContactStatusDetail"),
                ("AOR", phone.name),
                ("URI", phone.contact_uri),
                ("Status", "Reachable" if phone.reachable else "Unreachable"),
                ("EndpointName", phone.name),
            ]
            for phone in self.pbx.phones.values()
            if phone.dynamic and phone.has_contact
        ]
        return event_list(
            message,
            "Following are ContactStatusEvents for each Inbound registration",
            "ContactStatusDetailComplete",
            items,
        )
