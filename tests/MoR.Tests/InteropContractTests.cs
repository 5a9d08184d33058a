using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using MoR.Interop;
using MoR.Tests.Infrastructure;

namespace MoR.Tests;

/// <summary>The C ABI as the managed layer sees it: versions, messages, layouts, status mapping.</summary>
public sealed unsafe partial class InteropContractTests
{
    [Fact]
    public void AbiVersionMatchesTheManagedConstant()
    {
        Assert.Equal(3, NativeMethods.AbiVersion);
        Assert.Equal(NativeMethods.AbiVersion, NativeMethods.mor_abi_version());
        Assert.Equal(NativeDiagnostics.ExpectedAbiVersion, NativeDiagnostics.AbiVersion);
    }

    [Fact]
    public void BuildInfoDescribesTheLibrary()
    {
        string info = NativeDiagnostics.BuildInfo;

        Assert.StartsWith("mor ", info);
        Assert.Contains("cpu:", info);
        Assert.Contains("cuda:", info);
    }

    [Fact]
    public void LastErrorHoldsTheMessageOfTheFailedCallAndIsClearedBySuccess()
    {
        nint context;
        int status = NativeMethods.mor_context_create((MorBackend)7, 0, &context);

        Assert.Equal((int)NativeStatus.InvalidArgument, status);
        Assert.Contains("unknown backend 7", NativeCall.LastError());

        MorHandleStats stats;
        Assert.Equal(0, NativeMethods.mor_handle_stats_get(&stats));
        Assert.Equal(string.Empty, NativeCall.LastError());
    }

    [Fact]
    public void CheckThrowsWithTheStatusOperationAndNativeMessage()
    {
        var error = Assert.Throws<MoRNativeException>(() => ContextHandle.Create((MorBackend)7, 0));

        Assert.Equal(NativeStatus.InvalidArgument, error.Status);
        Assert.Equal("mor_context_create", error.Operation);
        Assert.Contains("unknown backend 7", error.NativeMessage);
        Assert.Contains("unknown backend 7", error.Message);
        Assert.Contains("mor_context_create", error.Message);
    }

    [Theory]
    [InlineData(NativeStatus.InvalidArgument, typeof(MoRNativeException))]
    [InlineData(NativeStatus.Shape, typeof(MoRNativeException))]
    [InlineData(NativeStatus.DType, typeof(MoRNativeException))]
    [InlineData(NativeStatus.OutOfMemory, typeof(NativeOutOfMemoryException))]
    [InlineData(NativeStatus.NoDevice, typeof(DeviceUnavailableException))]
    [InlineData(NativeStatus.Cuda, typeof(CudaException))]
    [InlineData(NativeStatus.Cublas, typeof(CublasException))]
    [InlineData(NativeStatus.NotSupported, typeof(MoRNativeException))]
    [InlineData(NativeStatus.Internal, typeof(MoRNativeException))]
    [InlineData(NativeStatus.Comm, typeof(CommunicationException))]
    public void EveryStatusMapsToItsExceptionType(NativeStatus status, Type expected)
    {
        MoRNativeException error = NativeCall.CreateException(status, "mor_op", "what went wrong");

        Assert.IsType(expected, error, exactMatch: true);
        Assert.Equal(status, error.Status);
        Assert.Equal("what went wrong", error.NativeMessage);

        var thrown = Assert.ThrowsAny<MoRNativeException>(() => NativeCall.Check((int)status, "mor_op"));
        Assert.IsType(expected, thrown, exactMatch: true);
    }

    [Fact]
    public void CheckAcceptsOk() => NativeCall.Check((int)NativeStatus.Ok, "mor_op");

    [Fact]
    public void RealFailuresCarryTheirStatus()
    {
        ContextHandle context = Device.Cpu.Context;

        var dtype = Assert.Throws<MoRNativeException>(() => BufferHandle.Create(context, (MorDType)99, 4));
        Assert.Equal(NativeStatus.DType, dtype.Status);

        var negative = Assert.Throws<MoRNativeException>(() => BufferHandle.Create(context, MorDType.F32, -1));
        Assert.Equal(NativeStatus.InvalidArgument, negative.Status);

        var device = Assert.Throws<DeviceUnavailableException>(() => ContextHandle.Create(MorBackend.Cpu, 1));
        Assert.Equal(NativeStatus.NoDevice, device.Status);
        Assert.False(string.IsNullOrEmpty(device.NativeMessage));

        using BufferHandle buffer = BufferHandle.Create(context, MorDType.F32, 4);
        float value = 0;
        int status = NativeMethods.mor_buffer_download(buffer, 3, &value, 2, StreamHandle.Default);
        Assert.Equal((int)NativeStatus.Shape, status);
        Assert.Contains("outside the buffer", NativeCall.LastError());
    }

    [Fact]
    public void AnImpossibleAllocationIsANativeOutOfMemoryException()
    {
        var error = Assert.Throws<NativeOutOfMemoryException>(
            () => BufferHandle.Create(Device.Cpu.Context, MorDType.F32, 1L << 60));

        Assert.Equal(NativeStatus.OutOfMemory, error.Status);
    }

    [Fact]
    public void StructLayoutsMatchTheHeader()
    {
        Assert.Equal(3 * sizeof(long), sizeof(MorHandleStats));
        Assert.Equal(6 * sizeof(long), sizeof(MorAllocatorStats));
        Assert.Equal(256 + sizeof(long) + 4 * sizeof(int), sizeof(MorDeviceInfo));
        Assert.Equal(256, (int)Marshal.OffsetOf<MorDeviceInfo>(nameof(MorDeviceInfo.TotalMemoryBytes)));
        Assert.Equal(12 * sizeof(long) + sizeof(float) + sizeof(int), sizeof(MorAttentionDims));
        Assert.Equal(6 * sizeof(float) + sizeof(long), sizeof(MorAdamWParams));
    }

    [Fact]
    public void EnumValuesMatchTheHeader()
    {
        string header = File.ReadAllText(RepositoryLayout.NativeHeader);
        foreach (NativeStatus status in Enum.GetValues<NativeStatus>())
        {
            string name = status == NativeStatus.Ok ? "MOR_OK" : "MOR_ERR_" + ToUpperSnake(status.ToString());
            Assert.Matches(new Regex($@"\b{name} = {(int)status}\b"), header);
        }

        foreach (MorDType dtype in Enum.GetValues<MorDType>())
        {
            Assert.Matches(new Regex($@"\bMOR_DTYPE_{dtype} = {(int)dtype}\b"), header);
        }

        Assert.Matches(new Regex($@"\bMOR_ABI_VERSION {NativeMethods.AbiVersion}\b"), header);
    }

    [Fact]
    public void EveryHeaderFunctionIsImportedAndExported()
    {
        string header = File.ReadAllText(RepositoryLayout.NativeHeader);
        string[] functions = ExportedFunction().Matches(header).Select(match => match.Groups[1].Value).ToArray();
        HashSet<string> imported = typeof(NativeMethods)
            .GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Select(method => method.Name)
            .ToHashSet();
        nint library = NativeLibraryResolver.Load();

        Assert.True(functions.Length >= 30, $"parsed only {functions.Length} functions from mor.h");
        Assert.All(functions, name =>
        {
            Assert.True(imported.Contains(name), $"{name} is in mor.h but not declared in NativeMethods");
            Assert.True(NativeLibrary.TryGetExport(library, name, out _), $"{name} is in mor.h but not exported by the library");
        });
        Assert.All(imported.Where(name => name.StartsWith("mor_", StringComparison.Ordinal)), name =>
            Assert.True(functions.Contains(name), $"NativeMethods.{name} is not in mor.h"));
    }

    private static string ToUpperSnake(string pascal) =>
        pascal == "DType" ? "DTYPE" : Regex.Replace(pascal, "(?<=[a-z])(?=[A-Z])", "_").ToUpperInvariant();

    [GeneratedRegex(@"MOR_API\s+[\w\s\*]+?\b(mor_\w+)\s*\(")]
    private static partial Regex ExportedFunction();
}
