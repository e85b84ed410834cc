using System.IO.Compression;
using System.Runtime.InteropServices;
using PureHDF.Filters;

namespace Ips.IO;

/// <summary>
/// PureHDF's own decoders for two HDF5 filters, bounded by the size of the chunk they decode: its deflate filter
/// inflates into a buffer that grows until the stream ends, so a stored chunk of a few kilobytes could fill
/// gigabytes (deflate expands data up to 1032 times), and its scale-offset filter allocates the element count x
/// element size that the filter's parameters in the file claim. Registered once, before PureHDF reads a file
/// (<see cref="Hdf5.OpenRead"/>); compression (ips writes gzip feature files) is PureHDF's unchanged.
/// </summary>
internal static class Hdf5Filters
{
    /// <summary>What a filter's output may exceed the chunk's decoded size by: the scale-offset filter, when deflate
    /// runs after it, hands deflate its own 21-byte header with the data (H5Zscaleoffset.c).</summary>
    public const int MaxOverhead = 4096;

    private static int _registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
        {
            H5Filter.Register(new BoundedDeflate());
            H5Filter.Register(new BoundedScaleOffset());
        }
    }

    /// <summary>PureHDF's filter for compression and its parameters, a bounded decoder for reading.</summary>
    private abstract class Bounded(IH5Filter pureHdf) : IH5Filter
    {
        public ushort FilterId => pureHdf.FilterId;

        public string Name => pureHdf.Name;

        public uint[] GetParameters(uint[] chunkDimensions, uint typeSize, Dictionary<string, object>? options) =>
            pureHdf.GetParameters(chunkDimensions, typeSize, options);

        public Memory<byte> Filter(FilterInfo info) =>
            info.Flags.HasFlag(H5FilterFlags.Decompress) ? Decompress(info, pureHdf) : pureHdf.Filter(info);

        protected abstract Memory<byte> Decompress(FilterInfo info, IH5Filter pureHdf);
    }

    private sealed class BoundedDeflate() : Bounded(new DeflateFilter())
    {
        protected override Memory<byte> Decompress(FilterInfo info, IH5Filter pureHdf)
        {
            var compressed = MemoryMarshal.TryGetArray<byte>(info.Buffer, out var segment)
                ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
                : new MemoryStream(info.Buffer.ToArray(), writable: false);
            using var inflater = new ZLibStream(compressed, CompressionMode.Decompress);
            var output = new byte[info.ChunkSize + MaxOverhead];
            int total = 0;
            for (int read; total < output.Length && (read = inflater.Read(output, total, output.Length - total)) > 0;)
            {
                total += read;
            }
            if (total == output.Length && inflater.ReadByte() >= 0)
            {
                throw new InvalidDataException(
                    $"a deflate-compressed chunk expands beyond {output.Length} bytes, where the chunk holds {info.ChunkSize}");
            }
            return output.AsMemory(0, total);
        }
    }

    private sealed class BoundedScaleOffset() : Bounded(new ScaleOffsetFilter())
    {
        protected override Memory<byte> Decompress(FilterInfo info, IH5Filter pureHdf)
        {
            // The parameters H5Zscaleoffset.c stores: scale type, scale factor, element count, class, element size...
            if (info.Parameters.Length > 4 && (ulong)info.Parameters[2] * info.Parameters[4] > (ulong)info.ChunkSize)
            {
                throw new InvalidDataException(
                    $"the scale-offset filter's parameters claim {info.Parameters[2]} values of {info.Parameters[4]} bytes, where the chunk holds {info.ChunkSize} bytes");
            }
            return pureHdf.Filter(info);
        }
    }
}
