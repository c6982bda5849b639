using System.Buffers;
using System.Collections;
using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Rpc;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.BuildingBlocks.Hosting;

/// <summary>
/// Bounds on every request message, bound from <c>Oversight:Server:Requests</c>. Handlers validate
/// each field's own rules; these are the outer fence that stops a huge value before any work.
/// </summary>
public sealed class RequestLimits
{
    /// <summary>Characters of a string (bytes of a bytes field). The longest text a handler accepts is 2,000.</summary>
    public int MaxStringLength { get; set; } = 4096;

    /// <summary>Entries of a repeated or map field.</summary>
    public int MaxRepeatedCount { get; set; } = 1000;

    /// <summary>
    /// Bounds of single fields that legitimately need another one, by the field's full protobuf
    /// name (<c>oversight.consent.v1.BatchCheckConsentRequest.subject_ids</c>): the entry count of a
    /// repeated field, the length of any other. Modules add theirs.
    /// </summary>
    public Dictionary<string, int> Fields { get; } = [];
}

/// <summary>
/// Guards how requests are read, for every method of every service: grpc-dotnet parses a request
/// before any interceptor runs and answers UNKNOWN for anything its parser throws, so a message
/// that does not parse (invalid UTF-8 in a string, a truncated field) or breaks a size bound is
/// answered INVALID_ARGUMENT here, from the parser itself. It replaces grpc-dotnet's default
/// method provider: it binds the same generated methods with the same endpoint metadata
/// (the service type's attributes, then the handler method's, so authorisation is unchanged),
/// only with a guarded request parser.
/// </summary>
public static class RequestGuard
{
    /// <summary>
    /// Registers the guard in place of grpc-dotnet's binder. Call it after every <c>AddGrpc()</c>
    /// (reflection and health checks call it too); otherwise start-up fails, naming the order.
    /// </summary>
    public static IServiceCollection AddRequestGuard(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<RequestLimits>(configuration.GetSection("Oversight:Server:Requests"));
        // grpc-dotnet's own provider would map every method a second time, unguarded.
        services.RemoveAll(typeof(IServiceMethodProvider<>));
        services.AddSingleton(typeof(IServiceMethodProvider<>), typeof(GuardedServiceMethodProvider<>));
        return services;
    }

    /// <summary>The request's size violations, with field paths as handlers name them (<c>terms.data_categories[3]</c>).</summary>
    internal static FieldViolations Check(IMessage message, RequestLimits limits)
    {
        var violations = new FieldViolations();
        Walk(message, "", limits, violations);
        return violations;
    }

    private static void Walk(IMessage message, string prefix, RequestLimits limits, FieldViolations violations)
    {
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            var path = prefix + field.Name;
            var value = field.Accessor.GetValue(message);
            if (field.IsMap || field.IsRepeated)
            {
                var entries = (ICollection)value;
                var max = limits.Fields.GetValueOrDefault(field.FullName, limits.MaxRepeatedCount);
                if (entries.Count > max)
                {
                    violations.Add(path, $"must hold at most {max} entries");
                    continue;
                }

                if (!field.IsMap)
                {
                    var index = 0;
                    foreach (var entry in entries)
                    {
                        WalkValue(field, entry, $"{path}[{index++}]", limits, violations);
                    }
                }

                continue;
            }

            WalkValue(field, value, path, limits, violations);
        }
    }

    private static void WalkValue(FieldDescriptor field, object? value, string path, RequestLimits limits, FieldViolations violations)
    {
        var length = value switch
        {
            string text => text.Length,
            ByteString bytes => bytes.Length,
            _ => -1,
        };
        if (length >= 0)
        {
            var max = field.IsRepeated ? limits.MaxStringLength : limits.Fields.GetValueOrDefault(field.FullName, limits.MaxStringLength);
            if (length > max)
            {
                violations.Add(path, value is string ? $"must be at most {max} characters" : $"must be at most {max} bytes");
            }
        }
        else if (value is IMessage nested)
        {
            Walk(nested, path + ".", limits, violations);
        }
    }

    /// <summary>
    /// The path of the first string field whose bytes are not UTF-8, so the caller learns which
    /// value to fix; null when the request fails to parse for another reason.
    /// </summary>
    private static string? InvalidUtf8Field(ReadOnlySequence<byte> payload, MessageDescriptor? descriptor)
    {
        try
        {
            return descriptor is null ? null : FindInvalidUtf8(new CodedInputStream(payload.ToArray()), descriptor, "", depth: 0);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }

    private static string? FindInvalidUtf8(CodedInputStream input, MessageDescriptor message, string prefix, int depth)
    {
        // Protobuf's own parser stops at 100 levels; so does this scan.
        if (depth > 100)
        {
            return null;
        }

        var seen = new Dictionary<int, int>();
        for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
        {
            var field = message.FindFieldByNumber(WireFormat.GetTagFieldNumber(tag));
            if (field is null || WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
            {
                input.SkipLastField();
                continue;
            }

            var index = seen.GetValueOrDefault(field.FieldNumber);
            seen[field.FieldNumber] = index + 1;
            var path = field.IsRepeated ? $"{prefix}{field.Name}[{index}]" : prefix + field.Name;
            var bytes = input.ReadBytes();
            if (field.FieldType == FieldType.String && !System.Text.Unicode.Utf8.IsValid(bytes.Span))
            {
                return path;
            }

            if (field.FieldType == FieldType.Message
                && FindInvalidUtf8(new CodedInputStream(bytes.ToByteArray()), field.MessageType, path + ".", depth + 1) is { } nested)
            {
                return nested;
            }
        }

        return null;
    }

    /// <summary>The method with the same route and handler whose request parser answers INVALID_ARGUMENT.</summary>
    internal static Method<TRequest, TResponse> Guarded<TRequest, TResponse>(Method<TRequest, TResponse> method, RequestLimits limits)
        where TRequest : class where TResponse : class
    {
        var parse = method.RequestMarshaller.ContextualDeserializer;
        var descriptor = typeof(TRequest).GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as MessageDescriptor;
        var marshaller = new Marshaller<TRequest>(method.RequestMarshaller.ContextualSerializer, context =>
        {
            TRequest request;
            try
            {
                request = parse(context);
            }
            catch (InvalidProtocolBufferException exception)
            {
                var badRequest = InvalidUtf8Field(context.PayloadAsReadOnlySequence(), descriptor) is { } field
                    ? new BadRequest { FieldViolations = { new BadRequest.Types.FieldViolation { Field = field, Description = "is not valid UTF-8" } } }
                    : null;
                throw BoundedStatus.ToRpcException(Code.InvalidArgument, $"The request could not be parsed: {exception.Message}", badRequest);
            }

            if (request is IMessage message)
            {
                var violations = Check(message, limits);
                if (violations.Any)
                {
                    var badRequest = new BadRequest();
                    badRequest.FieldViolations.AddRange(violations.Items);
                    throw BoundedStatus.ToRpcException(Code.InvalidArgument, BoundedStatus.DescribeViolations(violations.Items), badRequest);
                }
            }

            return request;
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, marshaller, method.ResponseMarshaller);
    }
}

/// <summary>Finds the generated <c>BindService</c> of a service and binds its methods through <see cref="GuardedBinder{TService}"/>.</summary>
internal sealed class GuardedServiceMethodProvider<TService>(IOptions<RequestLimits> limits, IServiceProvider services)
    : IServiceMethodProvider<TService> where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        // A later AddGrpc() brings grpc-dotnet's binder back, which would map every method twice.
        if (services.GetServices<IServiceMethodProvider<TService>>().Any(provider => provider is not GuardedServiceMethodProvider<TService>))
        {
            throw new InvalidOperationException("Another gRPC method provider is registered: call AddRequestGuard after every AddGrpc().");
        }

        var (bindService, serviceBase) = FindBindService(typeof(TService))
            ?? throw new InvalidOperationException($"{typeof(TService)} has no generated BindService method to bind it with.");
        bindService.Invoke(null, [new GuardedBinder<TService>(context, serviceBase, limits.Value), null]);
    }

    /// <summary>Grpc.Tools marks the generated base class with the static method that binds it.</summary>
    private static (MethodInfo BindService, Type ServiceBase)? FindBindService(Type serviceType)
    {
        for (var type = serviceType; type is not null; type = type.BaseType)
        {
            if (type.GetCustomAttribute<BindServiceMethodAttribute>(inherit: false) is { } attribute)
            {
                var method = attribute.BindType.GetMethod(
                    attribute.BindMethodName, BindingFlags.Public | BindingFlags.Static, [typeof(ServiceBinderBase), type]);
                return method is null ? null : (method, type);
            }
        }

        return null;
    }
}

/// <summary>
/// Binds each generated method as grpc-dotnet's own binder does — the handler found on the
/// service type, its metadata the service type's attributes then the handler's, POST with CORS
/// preflight — with <see cref="RequestGuard.Guarded"/> in place of the generated method.
/// </summary>
internal sealed class GuardedBinder<TService>(ServiceMethodProviderContext<TService> context, Type serviceBase, RequestLimits limits)
    : ServiceBinderBase where TService : class
{
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
    {
        var (invoker, metadata) = Bind<UnaryServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(TRequest), typeof(ServerCallContext));
        context.AddUnaryMethod(RequestGuard.Guarded(method, limits), metadata, invoker);
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
    {
        var (invoker, metadata) = Bind<ServerStreamingServerMethod<TService, TRequest, TResponse>>(
            method.Name, typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
        context.AddServerStreamingMethod(RequestGuard.Guarded(method, limits), metadata, invoker);
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
    {
        var (invoker, metadata) = Bind<ClientStreamingServerMethod<TService, TRequest, TResponse>>(
            method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext));
        context.AddClientStreamingMethod(RequestGuard.Guarded(method, limits), metadata, invoker);
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
    {
        var (invoker, metadata) = Bind<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(
            method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
        context.AddDuplexStreamingMethod(RequestGuard.Guarded(method, limits), metadata, invoker);
    }

    private (TDelegate Invoker, List<object> Metadata) Bind<TDelegate>(string name, params Type[] parameters) where TDelegate : Delegate
    {
        var handler = FindHandler(name, parameters) ?? throw new InvalidOperationException($"Could not find '{name}' on {typeof(TService)}.");
        var metadata = new List<object>();
        // Type attributes first, method attributes last so they take precedence (as grpc-dotnet orders them).
        metadata.AddRange(typeof(TService).GetCustomAttributes(inherit: true));
        metadata.AddRange(handler.GetCustomAttributes(inherit: true));
        metadata.Add(new HttpMethodMetadata(["POST"], acceptCorsPreflight: true));
        return ((TDelegate)Delegate.CreateDelegate(typeof(TDelegate), handler), metadata);
    }

    /// <summary>The public override of the generated virtual method (a method that merely hides it does not count).</summary>
    private MethodInfo? FindHandler(string name, Type[] parameters)
    {
        for (var type = typeof(TService); type is not null; type = type.BaseType)
        {
            var method = type.GetMethod(name, BindingFlags.Public | BindingFlags.Instance, parameters);
            if (method is null)
            {
                return null;
            }

            if (method.IsVirtual && method.GetBaseDefinition().DeclaringType == serviceBase)
            {
                return method;
            }
        }

        return null;
    }
}
