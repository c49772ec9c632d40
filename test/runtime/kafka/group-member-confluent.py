# One confluent-kafka (librdkafka) consumer-group member for groups-e2e.test.ts, run as its own
# process. Usage:
#
#   /usr/bin/python3 group-member-confluent.py <bootstrap> <groupId> <topic> <name> <sessionTimeoutMs>
#
# It writes the same JSON lines as group-member-kafkajs.ts, each with `t` (wall clock, ms) and
# `member`: assign (on_assign), revoke (on_revoke), message, commit (on_commit), closed (after
# SIGTERM, once close() has committed and left the group).
#
# Commits: enable.auto.commit with enable.auto.offset.store off; the loop stores a message's
# offset after writing its line, and librdkafka commits the stored offsets every
# auto.commit.interval.ms, on revoke and on close (at-least-once).
import json
import signal
import sys
import time

from confluent_kafka import Consumer

HEARTBEAT_INTERVAL_MS = 1000
# librdkafka sends max.poll.interval.ms as the JoinGroup rebalance timeout; the kafkajs members use 20 s too.
REBALANCE_TIMEOUT_MS = 20000
AUTO_COMMIT_INTERVAL_MS = 1000
POLL_TIMEOUT_S = 0.2

bootstrap, group_id, topic, name, session_timeout_ms = sys.argv[1:6]
stopping = False


def emit(event, **fields):
    print(json.dumps(dict(event=event, t=time.time() * 1000, member=name, **fields)), flush=True)


def on_term(_signum, _frame):
    global stopping
    stopping = True


def on_assign(_consumer, partitions):
    emit('assign', memberId=None, isLeader=None, partitions=sorted(p.partition for p in partitions if p.topic == topic))


def on_revoke(_consumer, partitions):
    emit('revoke', reason='on_revoke', partitions=sorted(p.partition for p in partitions if p.topic == topic))


def on_commit(error, partitions):
    if error is not None:
        emit('commit-failed', error=str(error))
        return
    emit('commit', generation=None, offsets={str(p.partition): p.offset for p in partitions if p.topic == topic and p.error is None})


signal.signal(signal.SIGTERM, on_term)
consumer = Consumer({
    'bootstrap.servers': bootstrap,
    'group.id': group_id,
    'client.id': name,
    'session.timeout.ms': int(session_timeout_ms),
    'heartbeat.interval.ms': HEARTBEAT_INTERVAL_MS,
    'max.poll.interval.ms': REBALANCE_TIMEOUT_MS,
    # The kafkajs members offer their round robin under this name too (see group-member-kafkajs.ts).
    'partition.assignment.strategy': 'roundrobin',
    'auto.offset.reset': 'earliest',
    'enable.auto.commit': True,
    'enable.auto.offset.store': False,
    'auto.commit.interval.ms': AUTO_COMMIT_INTERVAL_MS,
    'on_commit': on_commit,
})
consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
while not stopping:
    message = consumer.poll(POLL_TIMEOUT_S)
    if message is None:
        continue
    if message.error() is not None:
        print(json.dumps({'error': str(message.error())}), file=sys.stderr, flush=True)
        continue
    emit('message', partition=message.partition(), offset=message.offset(), value=message.value().decode())
    consumer.store_offsets(message=message)
consumer.close()
emit('closed')
