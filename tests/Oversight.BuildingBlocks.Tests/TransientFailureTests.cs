using System.Net.Sockets;
using Google.Protobuf;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Tests;

public sealed class TransientFailureTests
{
    [Fact]
    public void A_dropped_connection_or_a_timeout_may_pass_by_itself()
    {
        Assert.True(TransientFailure.Is(new SocketException((int)SocketError.ConnectionReset)));
        Assert.True(TransientFailure.Is(new IOException("broken pipe")));
        Assert.True(TransientFailure.Is(new InvalidOperationException("outer", new TimeoutException())));
        Assert.True(TransientFailure.Is(new WaitingForOperatorException("a key is missing from the configuration")));
    }

    [Fact]
    public void Bytes_that_do_not_parse_never_will_though_the_parser_throws_an_io_exception()
    {
        var unparseable = Assert.Throws<InvalidProtocolBufferException>(() => Google.Protobuf.WellKnownTypes.Timestamp.Parser.ParseFrom([0x08]));
        Assert.IsAssignableFrom<IOException>(unparseable);

        Assert.False(TransientFailure.Is(unparseable));
        Assert.False(TransientFailure.Is(new AggregateException(unparseable)));
        Assert.False(TransientFailure.Is(new InvalidOperationException("outer", unparseable)));
    }
}
