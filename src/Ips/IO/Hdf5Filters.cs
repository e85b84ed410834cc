using System.IO.Compression;
using System.Runtime.InteropServices;
using PureHDF.Filters;

namespace Ips.IO;

/// <summary>
/// PureHDF's own decoders for three HDF5 filters, bounded by the size of the chunk they decode: its deflate filter
/// inflates into a buffer that grows until the stream ends, so a stored chunk of a few kilobytes could fill
/// gigabytes (deflate expands data up to 1032 times), its scale-offset filter allocates the element count x
/// element size that the filter's parameters in the file claim, and its shuffle filter loops over every byte of the
/// element size its parameter claims, whatever the chunk holds. Registered once, before PureHDF reads a file
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
            H5Filter.Register(new BoundedShuffle());
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

    /// <summary>
    /// Unshuffles as HDF5 does (H5Z__filter_shuffle): the parameter is the element size, and a chunk of fewer than
    /// two elements is left as it is. PureHDF's vectorised unshuffle runs a loop per 16 bytes of the claimed element
    /// size even then: a 2 KB feature file (found by fuzzing, fuzz/regressions/features-h5) whose shuffle parameter
    /// claimed elements of megabytes took a second to refuse, and four with its row width raised to 1,500.
    /// </summary>
    private sealed class BoundedShuffle() : Bounded(new ShuffleFilter())
    {
        protected override Memory<byte> Decompress(FilterInfo info, IH5Filter pureHdf)
        {
            if (info.Parameters.Length == 0 || info.Parameters[0] == 0)
            {
                throw new InvalidDataException("the shuffle filter does not give the size of the values it shuffled");
            }
            uint elementSize = info.Parameters[0];
            return elementSize > 1 && (uint)info.Buffer.Length / elementSize > 1 ? pureHdf.Filter(info) : info.Buffer;
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
