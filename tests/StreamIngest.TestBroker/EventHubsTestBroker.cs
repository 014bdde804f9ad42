using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Amqp;
using Amqp.Framing;
using Amqp.Listener;
using Amqp.Sasl;
using Amqp.Types;

namespace StreamIngest.TestBroker;

/// <summary>
/// An Event Hubs-compatible AMQP 1.0 broker for tests, on 127.0.0.1, enough for the real
/// Azure.Messaging.EventHubs clients with a <c>UseDevelopmentEmulator=true</c> connection string:
/// SASL MSSBCBS, CBS put-token, <c>$management</c> reads of hub and partition properties, sends to the hub
/// (partition keys hashed) or to a partition (single and batched messages), receives from a position
/// (offset, sequence number, enqueued time, latest) per consumer group with owner level (epoch) and
/// credit-based flow control. Everything is in memory.
/// </summary>
public sealed partial class EventHubsTestBroker : IDisposable
{
    public const uint BatchFormat = 0x80013700;
    private readonly ContainerHost _host;
    private readonly Partition[] _partitions;
    private readonly Dictionary<string, OutgoingEndpoint> _epochReceivers = new(StringComparer.OrdinalIgnoreCase);
    private int _roundRobin;
    private int _receiversAttached;

    /// <summary>Receive links attached so far; a receiver's start position (e.g. Latest) is fixed when it attaches.</summary>
    public int ReceiversAttached => Volatile.Read(ref _receiversAttached);

    /// <param name="port">A port to listen on (e.g. one clients were already pointed at before the broker "came back"); default: a free one.</param>
    public EventHubsTestBroker(string hubName = "posts", int partitionCount = 4, int? port = null)
    {
        HubName = hubName;
        Port = port ?? FreePort();
        if (Environment.GetEnvironmentVariable("TESTBROKER_TRACE") == "1")
        {
            Amqp.Trace.TraceLevel = Amqp.TraceLevel.Frame;
            Amqp.Trace.TraceListener = (level, format, args) => Console.Error.WriteLine("[amqp] " + string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
        }

        _partitions = [.. Enumerable.Range(0, partitionCount).Select(i => new Partition(i.ToString(System.Globalization.CultureInfo.InvariantCulture)))];
        _host = new ContainerHost(new Address($"amqp://127.0.0.1:{Port}"));
        _host.Listeners[0].SASL.EnableMechanism(new Symbol("MSSBCBS"), new AcceptAllSaslProfile("MSSBCBS"));
        _host.Listeners[0].SASL.EnableAnonymousMechanism = true;
        _host.RegisterRequestProcessor("$cbs", new CbsProcessor());
        _host.RegisterRequestProcessor("$management", new ManagementProcessor(this));
        _host.RegisterLinkProcessor(new LinkProcessor(this));
        _host.Open();
    }

    public string HubName { get; }

    public int Port { get; }

    public string ConnectionString => ConnectionStringFor(Port);

    /// <summary>The connection string for a broker on <paramref name="port"/> (whether or not one is listening yet).</summary>
    public static string ConnectionStringFor(int port) =>
        $"Endpoint=sb://127.0.0.1:{port};SharedAccessKeyName=test;SharedAccessKey=dGVzdGtleQ==;UseDevelopmentEmulator=true";

    public string FullyQualifiedNamespace => $"127.0.0.1:{Port}";

    /// <summary>Events stored per partition so far.</summary>
    public IReadOnlyList<int> Counts
    {
        get
        {
            return [.. _partitions.Select(p =>
            {
                lock (p)
                {
                    return p.Events.Count;
                }
            })];
        }
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private void Publish(Message message, string? partitionId)
    {
        var key = message.MessageAnnotations?[new Symbol("x-opt-partition-key")] as string;
        var messages = message.Format == BatchFormat && message.BodySection is DataList list
            ? [.. Enumerable.Range(0, list.Count).Select(i => Message.Decode(new ByteBuffer(list[i].Binary, 0, list[i].Binary.Length, list[i].Binary.Length)))]
            : message.Format == BatchFormat && message.BodySection is Data single
                ? [Message.Decode(new ByteBuffer(single.Binary, 0, single.Binary.Length, single.Binary.Length))]
                : new List<Message> { message };
        var target = partitionId is not null
            ? _partitions.Single(p => p.Id == partitionId)
            : key is not null
                ? _partitions[(int)((uint)StableHash(key) % (uint)_partitions.Length)]
                : _partitions[(int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)_partitions.Length)];
        lock (target)
        {
            foreach (var m in messages)
            {
                var seq = target.Events.Count;
                m.MessageAnnotations ??= new MessageAnnotations();
                m.MessageAnnotations[new Symbol("x-opt-sequence-number")] = (long)seq;
                m.MessageAnnotations[new Symbol("x-opt-offset")] = (seq * 100L).ToString(System.Globalization.CultureInfo.InvariantCulture);
                m.MessageAnnotations[new Symbol("x-opt-enqueued-time")] = DateTime.UtcNow;
                if (key is not null)
                {
                    m.MessageAnnotations[new Symbol("x-opt-partition-key")] = key;
                }

                var encoded = m.Encode();
                target.Events.Add((encoded.Buffer.AsSpan(encoded.Offset, encoded.Length).ToArray(), DateTime.UtcNow));
            }
        }

        target.Notify();
    }

    private static int StableHash(string s)
    {
        var h = 17;
        foreach (var c in s)
        {
            h = unchecked((h * 31) + c);
        }

        return h;
    }

    private sealed class Partition(string id)
    {
        public string Id { get; } = id;

        public List<(byte[] Bytes, DateTime Enqueued)> Events { get; } = [];

        public event Action? Published;

        public void Notify() => Published?.Invoke();
    }

    private sealed class AcceptAllSaslProfile(string name) : SaslProfile(new Symbol(name))
    {
        protected override ITransport UpgradeTransport(ITransport transport) => transport;

        protected override DescribedList GetStartCommand(string hostname) => new SaslInit { Mechanism = Mechanism };

        protected override DescribedList OnCommand(DescribedList command) =>
            command is SaslInit ? new SaslOutcome { Code = SaslCode.Ok } : null!;
    }

    private sealed class CbsProcessor : IRequestProcessor
    {
        public int Credit => 100;

        public void Process(RequestContext requestContext) =>
            requestContext.Complete(new Message("ok")
            {
                ApplicationProperties = new ApplicationProperties { ["status-code"] = 202, ["status-description"] = "Accepted" },
            });
    }

    private sealed class ManagementProcessor(EventHubsTestBroker broker) : IRequestProcessor
    {
        public int Credit => 100;

        public void Process(RequestContext requestContext)
        {
            var props = requestContext.Message.ApplicationProperties;
            var type = props?["type"] as string;
            Map body;
            var p = type == "com.microsoft:partition" ? broker._partitions.Single(x => x.Id == props!["partition"] as string) : null;
            lock ((object?)p ?? broker._partitions)
            {
                if (p is not null)
                {
                    var last = p.Events.Count - 1;
                    body = new Map
                    {
                        ["name"] = broker.HubName,
                        ["partition"] = p.Id,
                        ["begin_sequence_number"] = 0L,
                        ["last_enqueued_sequence_number"] = (long)Math.Max(last, -1),
                        ["last_enqueued_offset"] = last < 0 ? "-1" : (last * 100L).ToString(System.Globalization.CultureInfo.InvariantCulture),
                        ["last_enqueued_time_utc"] = last < 0 ? DateTime.UtcNow : p.Events[last].Enqueued,
                        ["is_partition_empty"] = last < 0,
                    };
                }
                else
                {
                    body = new Map
                    {
                        ["name"] = broker.HubName,
                        ["created_at"] = DateTime.UtcNow.AddDays(-1),
                        ["partition_count"] = broker._partitions.Length,
                        ["partition_ids"] = broker._partitions.Select(x => x.Id).ToArray(),
                    };
                }
            }

            requestContext.Complete(new Message(body)
            {
                ApplicationProperties = new ApplicationProperties { ["status-code"] = 200, ["status-description"] = "OK" },
            });
        }
    }

    private sealed partial class LinkProcessor(EventHubsTestBroker broker) : ILinkProcessor
    {
        [GeneratedRegex(@"^[^/]+/ConsumerGroups/([^/]+)/Partitions/([^/]+)$", RegexOptions.IgnoreCase)]
        private static partial Regex ReceiveAddress();

        [GeneratedRegex(@"^[^/]+/Partitions/([^/]+)$", RegexOptions.IgnoreCase)]
        private static partial Regex SendAddress();

        public void Process(AttachContext attachContext)
        {
            var attach = attachContext.Attach;
            if (!attach.Role)
            {
                // The client sends: we receive into the hub or one partition.
                var address = ((attach.Target as Target)?.Address ?? string.Empty).TrimStart('/');
                var m = SendAddress().Match(address);
                attach.MaxMessageSize = 1024 * 1024;
                attachContext.Complete(new IncomingEndpoint(broker, m.Success ? m.Groups[1].Value : null), 500);
                return;
            }

            var source = attach.Source as Source;
            var r = ReceiveAddress().Match((source?.Address ?? string.Empty).TrimStart('/'));
            if (!r.Success)
            {
                attachContext.Complete(new Error(new Symbol("amqp:not-found")) { Description = $"no such entity: {source?.Address}" });
                return;
            }

            var partition = broker._partitions.SingleOrDefault(p => p.Id == r.Groups[2].Value);
            if (partition is null)
            {
                attachContext.Complete(new Error(new Symbol("amqp:not-found")) { Description = $"no partition {r.Groups[2].Value}" });
                return;
            }

            var start = StartSequence(source!, partition);
            long? epoch = attach.Properties?[new Symbol("com.microsoft:epoch")] is long e ? e : null;
            var trackLastEnqueued = attach.DesiredCapabilities is { } caps && caps.Any(c => c.ToString() == "com.microsoft:enable-receiver-runtime-metric");
            var endpoint = new OutgoingEndpoint(partition, start, trackLastEnqueued);
            if (epoch is { } ownerLevel)
            {
                var key = $"{r.Groups[1].Value}/{partition.Id}";
                lock (broker._epochReceivers)
                {
                    if (broker._epochReceivers.TryGetValue(key, out var current) && current.Epoch > ownerLevel && current.IsOpen)
                    {
                        // Same condition the service uses for a consumer pushed out by a higher owner level.
                        attachContext.Complete(new Error(new Symbol("amqp:link:stolen")) { Description = $"a receiver with a higher owner level ({current.Epoch}) is active" });
                        return;
                    }

                    current?.Steal();
                    endpoint.Epoch = ownerLevel;
                    broker._epochReceivers[key] = endpoint;
                }
            }

            Interlocked.Increment(ref broker._receiversAttached);
            attachContext.Complete(endpoint, 0);
        }

        private static int StartSequence(Source source, Partition partition)
        {
            var filter = source.FilterSet?[new Symbol("apache.org:selector-filter:string")] as DescribedValue;
            var expression = filter?.Value as string ?? "amqp.annotation.x-opt-offset > '-1'";
            var m = Regex.Match(expression, @"x-opt-(offset|sequence-number|enqueued-time)\s*(>=|>)\s*'?([^'\s]*)'?");
            if (!m.Success)
            {
                return 0;
            }

            var inclusive = m.Groups[2].Value == ">=";
            var value = m.Groups[3].Value;
            lock (partition)
            {
                var count = partition.Events.Count;
                switch (m.Groups[1].Value)
                {
                    case "offset" when value == "@latest":
                        return count;
                    case "offset":
                        var offset = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                        if (offset < 0)
                        {
                            return 0;
                        }

                        return (int)(offset / 100) + (inclusive ? 0 : 1);
                    case "sequence-number":
                        var seq = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                        return (int)seq + (inclusive ? 0 : 1);
                    default:
                        var ms = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                        var at = DateTime.UnixEpoch.AddMilliseconds(ms);
                        var index = partition.Events.FindIndex(ev => inclusive ? ev.Enqueued >= at : ev.Enqueued > at);
                        return index < 0 ? count : index;
                }
            }
        }
    }

    private sealed class IncomingEndpoint(EventHubsTestBroker broker, string? partitionId) : LinkEndpoint
    {
        public override void OnMessage(MessageContext messageContext)
        {
            try
            {
                broker.Publish(messageContext.Message, partitionId);
                messageContext.Complete();
            }
            catch (Exception ex)
            {
                Console.Error.WriteLine($"[broker] publish failed: {ex}");
                messageContext.Complete(new Error(new Symbol("amqp:internal-error")) { Description = ex.Message });
            }
        }

        public override void OnFlow(FlowContext flowContext)
        {
        }

        public override void OnDisposition(DispositionContext dispositionContext) => dispositionContext.Complete();
    }

    /// <summary>Delivers a partition's events from a position, as far as the client's credit allows, then as they arrive.</summary>
    private sealed class OutgoingEndpoint : LinkEndpoint
    {
        private readonly Partition _partition;
        private readonly Lock _lock = new();
        private ListenerLink? _link;
        private int _next;
        private int _credit;
        private bool _closed;

        private readonly bool _trackLastEnqueued;

        public OutgoingEndpoint(Partition partition, int start, bool trackLastEnqueued)
        {
            _partition = partition;
            _next = start;
            _trackLastEnqueued = trackLastEnqueued;
            _partition.Published += Pump;
        }

        public long Epoch { get; set; }

        public bool IsOpen => !_closed;

        /// <summary>
        /// Detaches this receiver with <c>amqp:link:stolen</c>. Called on the new owner's connection thread, so the
        /// detach is sent from the thread pool, holding none of this endpoint's or the broker's locks.
        /// </summary>
        public void Steal()
        {
            ListenerLink? link;
            lock (_lock)
            {
                _closed = true;
                link = _link;
            }

            _partition.Published -= Pump;
            if (link is not null)
            {
                ThreadPool.QueueUserWorkItem(static l => CloseQuietly(l, new Error(new Symbol("amqp:link:stolen")) { Description = "a receiver with an equal or higher owner level took over" }), link, preferLocal: false);
            }
        }

        public override void OnFlow(FlowContext flowContext)
        {
            lock (_lock)
            {
                // Messages is the change in the link's credit, as ListenerLink counts it: a flow that does not raise the
                // peer's limit leaves no credit.
                _link = flowContext.Link;
                _credit = flowContext.Messages <= 0 ? 0 : _credit + flowContext.Messages;
            }

            Pump();
        }

        public override void OnDisposition(DispositionContext dispositionContext) => dispositionContext.Complete();

        public override void OnLinkClosed(ListenerLink link, Error error)
        {
            lock (_lock)
            {
                _closed = true;
            }

            _partition.Published -= Pump;
        }

        private static void CloseQuietly(ListenerLink link, Error error)
        {
            try
            {
                link.Close(TimeSpan.Zero, error);
            }
            catch (AmqpException)
            {
                // already detaching: the client closed it first
            }
        }

        private void Pump()
        {
            lock (_lock)
            {
                while (!_closed && _link is not null && _credit > 0)
                {
                    byte[] bytes;
                    int last;
                    DateTime lastEnqueued;
                    lock (_partition)
                    {
                        if (_next >= _partition.Events.Count)
                        {
                            return;
                        }

                        bytes = _partition.Events[_next].Bytes;
                        last = _partition.Events.Count - 1;
                        lastEnqueued = _partition.Events[last].Enqueued;
                    }

                    _next++;
                    _credit--;
                    var message = Message.Decode(new ByteBuffer(bytes, 0, bytes.Length, bytes.Length));
                    if (_trackLastEnqueued)
                    {
                        // What the service reports when the receiver asks for runtime metrics.
                        message.DeliveryAnnotations = new DeliveryAnnotations
                        {
                            [new Symbol("last_enqueued_sequence_number")] = (long)last,
                            [new Symbol("last_enqueued_offset")] = (last * 100L).ToString(System.Globalization.CultureInfo.InvariantCulture),
                            [new Symbol("last_enqueued_time_utc")] = lastEnqueued,
                            [new Symbol("runtime_info_retrieval_time_utc")] = DateTime.UtcNow,
                        };
                    }

                    try
                    {
                        _link.SendMessage(message);
                    }
                    catch (AmqpException)
                    {
                        // The link began detaching (the client left, or a higher owner took over): stop here.
                        _closed = true;
                        return;
                    }
                }
            }
        }
    }

    public void Dispose() => _host.Close();
}
