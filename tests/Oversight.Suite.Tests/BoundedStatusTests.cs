using System.Text;
using Google.Rpc;
using Grpc.Core;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.Suite.Tests;

/// <summary>Whatever an error says, what travels in its trailers stays within the bounds.</summary>
public sealed class BoundedStatusTests
{
    /// <summary>grpc-message as it travels: printable ASCII but '%' as is, every other UTF-8 byte as %XX.</summary>
    private static int WireLength(string message) =>
        Encoding.UTF8.GetBytes(message).Sum(b => b is >= 0x20 and <= 0x7E and not (byte)'%' ? 1 : 3);

    [Fact]
    public void A_long_non_ascii_message_is_cut_to_its_wire_budget_without_splitting_a_character()
    {
        var exception = BoundedStatus.ToRpcException(Code.InvalidArgument, new string('中', 5_000) + "😀", null);

        Assert.InRange(WireLength(exception.Status.Detail), 1, BoundedStatus.MaxMessageBytes);
        Assert.EndsWith("…", exception.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain('\uFFFD', Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(exception.Status.Detail)));
    }

    [Fact]
    public void Echoed_values_in_any_detail_are_cut_short()
    {
        var exception = BoundedStatus.ToRpcException(Code.NotFound, "not found",
            new ResourceInfo { ResourceType = "share class", ResourceName = new string('c', 40_000) });

        var detail = exception.GetRpcStatus()!.GetDetail<ResourceInfo>();
        Assert.Equal(BoundedStatus.MaxEchoLength, detail.ResourceName.Length);
        Assert.Equal("share class", detail.ResourceType);
    }

    [Fact]
    public void An_rpc_exception_raised_past_the_translation_is_bounded_too()
    {
        var huge = new Google.Rpc.Status { Code = (int)Code.InvalidArgument, Message = new string('m', 40_000) };
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(Enumerable.Range(0, 999).Select(i => new BadRequest.Types.FieldViolation { Field = $"f{i}", Description = new string('d', 1_000) }));
        huge.Details.Add(Google.Protobuf.WellKnownTypes.Any.Pack(badRequest));

        var bounded = BoundedStatus.Bound(huge.ToRpcException());

        Assert.Equal(StatusCode.InvalidArgument, bounded.StatusCode);
        Assert.InRange(WireLength(bounded.Status.Detail), 1, BoundedStatus.MaxMessageBytes);
        var status = bounded.GetRpcStatus()!;
        Assert.InRange(status.CalculateSize(), 1, BoundedStatus.MaxDetailsBytes);
        Assert.InRange(status.GetDetail<BadRequest>().FieldViolations.Count, 1, BoundedStatus.MaxViolations);

        var plain = BoundedStatus.Bound(new RpcException(new Grpc.Core.Status(StatusCode.Aborted, new string('x', 40_000))));
        Assert.InRange(WireLength(plain.Status.Detail), 1, BoundedStatus.MaxMessageBytes);
    }
}
