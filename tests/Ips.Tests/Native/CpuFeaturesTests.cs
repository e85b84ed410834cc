using Ips.Native;

namespace Ips.Tests.Native;

/// <summary>The CPU flags behind the bfloat16 warning, read from files in /proc/cpuinfo's format.</summary>
public sealed class CpuFeaturesTests
{
    [Theory]
    [InlineData("fpu sse4_2 avx2 fma avx512f avx512_bf16 avx512_vnni", true)]
    [InlineData("fpu sse4_2 avx2 amx_tile amx_bf16", true)]
    [InlineData("fpu sse4_1 sse4_2 fma avx2 sse4a", false)]
    [InlineData("fpu avx512f avx512_bf16x", false)]
    public void Native_bfloat16_is_read_from_the_first_flags_line(string flags, bool expected)
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path,
                $"processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: avx512_bf16\n");
            Assert.Equal(expected, CpuFeatures.HasNativeBfloat16(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Unreadable_flags_give_no_answer()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "processor\t: 0\nmodel name\t: some CPU\n");
            Assert.Null(CpuFeatures.HasNativeBfloat16(path));
            Assert.Null(CpuFeatures.HasNativeBfloat16(path + ".missing"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
