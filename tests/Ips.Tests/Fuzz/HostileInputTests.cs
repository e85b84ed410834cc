using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Ips.Encoders;
using Ips.Features;
using Ips.Fuzz;
using Ips.Imaging;
using Ips.IO;
using Ips.Slides;
using Ips.Slides.Annotations;
using TorchSharp;

namespace Ips.Tests.Fuzz;

/// <summary>
/// Inputs made the way an attacker would make them (docs/reliability.md): headers that claim huge sizes are refused
/// before the reader allocates for them, a looping TIFF directory chain ends, a pickle is never executed, an XML
/// external entity is never read.
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ips-hostile-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void SlideClaimingATrillionPixelsIsRefusedWithMemoryBelowTheCap()
    {
        // 10^6 x 10^6 pixels in 64-pixel tiles is 244 million tiles; LibTiff.NET would allocate two tables of that
        // many offsets (3.9 GB) before finding that the file lists one.
        var path = Write("huge.tif", Tiff(1_000_000, 1_000_000, tile: 64, nextDirectory: 0));
        long before = GC.GetAllocatedBytesForCurrentThread();

        var error = Assert.Throws<InvalidDataException>(() => TiffSlide.Open(path).Dispose());

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < ReaderProperty.MemoryCapBytes);
        Assert.Equal($"{path}: the TIFF file is truncated or damaged (134 bytes): directory 0 claims 1000000 x 1000000 pixels in 244140625 tiles but lists 1 offsets",
            error.Message);
    }

    [Fact]
    public void FeatureMatrixClaimingPetabytesIsRefusedWithMemoryBelowTheCap()
    {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1048576), }";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(header.Length + 1), 0 };
        bytes.AddRange(Encoding.ASCII.GetBytes(header + "\n"));
        bytes.AddRange(new byte[64]);
        var target = FuzzTargets.Named("npy");
        long before = GC.GetAllocatedBytesForCurrentThread();

        var outcome = ReaderProperty.Check(target, bytes.ToArray());

        Assert.Equal(ReaderOutcome.Refused, outcome);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < ReaderProperty.MemoryCapBytes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FeatureFileClaimingABillionRowsIsRefusedBeforeAnyRead(bool gzip)
    {
        // A real 6 x 4 feature file (contiguous, or chunked and compressed) whose dataspace is patched to claim 10^9
        // rows: 16 GB of float32 that a file of a few KB cannot hold, uncompressed or in one byte per chunk.
        var path = Path.Combine(_folder, gzip ? "gzip.h5" : "plain.h5");
        using (var features = torch.ones(6, 4))
        {
            Hdf5FeatureWriter.WriteSlideFile(path, features, new long[6, 2], gzip);
        }
        var bytes = File.ReadAllBytes(path);
        var claimed = ByteEdits.ReplaceAll(bytes, Dims(6, 4), Dims(1_000_000_000, 4));
        Assert.True(claimed > 0);
        File.WriteAllBytes(path, bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();

        var error = Assert.Throws<InvalidDataException>(() => Hdf5FeatureSource.OpenSlideFile(path).Dispose());

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < ReaderProperty.MemoryCapBytes);
        Assert.StartsWith($"{path}: the file is damaged: dataset 'features' ", error.Message, StringComparison.Ordinal);
        Assert.Contains($"more than the file's {bytes.Length} bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ImageClaimingBillionsOfPixelsIsRefusedBeforeDecoding()
    {
        // A PNG of 60000 x 60000 RGBA (14 GB decoded) in 57 bytes.
        var path = Write("huge.png", EmptyPng(60000, 60000));

        var error = Assert.Throws<InvalidDataException>(() => ImageFile.Load(path, 3).Dispose());

        Assert.StartsWith($"{path}: the PNG header gives a size of 60000 x 60000 pixels; images must have between 1 and {ImageFile.MaxPixels} pixels",
            error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ImageClaimingMorePixelsThanItsBytesCanHoldIsRefusedBeforeDecoding()
    {
        // 8000 x 8000 RGBA is within the pixel cap, but not in 57 bytes: no codec packs 64 million pixels into them.
        // Found by fuzzing as a 314-byte TIFF claiming 2162733 x 12 pixels, which LibTiff.NET began to decode.
        var path = Write("dense.png", EmptyPng(8000, 8000));
        long before = GC.GetAllocatedBytesForCurrentThread();

        var error = Assert.Throws<InvalidDataException>(() => ImageFile.Load(path, 3).Dispose());

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        Assert.Equal($"{path}: the PNG header gives a size of 8000 x 8000 pixels, more than a file of 57 bytes can hold (at most {ImageFile.MaxPixelsPerByte} pixels per byte, compressed)",
            error.Message);
    }

    [Theory]
    [InlineData("strip-bytes-2gb.tif", "(830 bytes): strip 0 of directory 0 claims 2030043825 bytes at byte 8, beyond the end of the file")]
    [InlineData("rows-per-strip-18-values.tif", "(314 bytes): directory 0 claims 16 x 2130706444 pixels in 2130706444 strips but lists 1 offsets")]
    [InlineData("strip-offset-without-byte-counts.tif", "(314 bytes): strip 0 of directory 0 starts at byte 3774873722, beyond the end of the file")]
    public void TiffImageWhoseStripsClaimGigabytesIsRefusedBeforeLibTiffAllocates(string input, string claim)
    {
        // Found by fuzzing under a 512 MiB heap: LibTiff.NET allocated a strip's listed byte count to read it, a strip
        // table for the strips a malformed RowsPerStrip (18 values, the first 0) implies, and, with no byte counts
        // listed, the count it estimates from a strip offset past the end of the file.
        var path = Write("image.tif", File.ReadAllBytes(RepositoryFiles.Path($"fuzz/regressions/tiff-image/{input}")));
        long before = GC.GetAllocatedBytesForCurrentThread();

        var error = Assert.Throws<InvalidDataException>(() => ImageFile.Load(path, 3).Dispose());

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        Assert.Equal($"{path}: the TIFF file is truncated or damaged {claim}", error.Message);
    }

    [Theory]
    [InlineData("unknown-backbone.ckpt", "state.json names backbone '\uFFFDesnet18'; expected one of resnet18, resnet50.")]
    [InlineData("corrupt-local-header.ckpt", "checkpoint entry encoder.pt is damaged: A local file header is corrupt.")]
    public void DamagedByolCheckpointIsRefusedNamingTheFile(string input, string damage)
    {
        // Found by fuzzing the BYOL checkpoint: an unknown backbone reached the encoder registry, whose error names
        // no file, and a damaged zip entry header failed inside System.IO.Compression with the bare zip message.
        var path = Write("byol.ckpt", File.ReadAllBytes(RepositoryFiles.Path($"fuzz/regressions/byol-ckpt/{input}")));

        var error = Assert.Throws<InvalidDataException>(() => ByolEncoderFile.Load(path).Encoder.Dispose());

        Assert.Equal($"{path}: {damage}", error.Message);
    }

    [Fact]
    public void TiffDirectoryChainThatLoopsIsRefusedNotFollowedForever()
    {
        // One valid 16 x 16 directory whose "next directory" offset points back at itself.
        var path = Write("loop.tif", Tiff(16, 16, tile: 16, nextDirectory: 8));

        var error = Assert.Throws<InvalidDataException>(() => TiffSlide.Open(path).Dispose());

        Assert.Equal($"{path}: the TIFF file is truncated or damaged (134 bytes): directory 1 at byte 8 is one seen before: the directory chain loops", error.Message);
    }

    [Fact]
    public void PickleThatCallsAFunctionIsRefusedAndNeverRun()
    {
        // torch.save's layout with a data.pkl that asks for posix.system("touch MARKER"): a pickle VM that executes
        // globals would create the marker.
        var marker = Path.Combine(_folder, "pickle-ran");
        var command = Encoding.ASCII.GetBytes($"touch {marker}");
        var pickle = new List<byte> { 0x80, 0x02 };
        pickle.AddRange(Encoding.ASCII.GetBytes("cposix\nsystem\n"));
        pickle.Add((byte)'X');
        pickle.AddRange(BitConverter.GetBytes(command.Length));
        pickle.AddRange(command);
        pickle.AddRange([0x85, (byte)'R', (byte)'.']);
        var path = Path.Combine(_folder, "evil.pt");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using (var data = zip.CreateEntry("archive/data.pkl").Open())
            {
                data.Write(pickle.ToArray());
            }
            using var version = new StreamWriter(zip.CreateEntry("archive/version").Open());
            version.Write("3\n");
        }

        var error = Assert.Throws<InvalidDataException>(() => StateDictIO.ReadStateDict(path));

        Assert.StartsWith($"{path}: not a readable PyTorch state_dict", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void StateDictWhoseStorageClaimsABillionElementsIsRefusedWithMemoryBelowTheCap()
    {
        // torch.save's pickle gives each storage its element count (BININT1 24 for a 6 x 4 float tensor); claimed as
        // 10^9, PyBridge would allocate 4 GB for an entry of 96 bytes.
        var path = TamperedStateDict("storage.pt", [0x4B, 24, (byte)'t'], [0x4A, .. BitConverter.GetBytes(1_000_000_000), (byte)'t']);
        long before = GC.GetAllocatedBytesForCurrentThread();

        var error = Assert.Throws<InvalidDataException>(() => StateDictIO.ReadStateDict(path));

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < ReaderProperty.MemoryCapBytes);
        Assert.Equal($"{path}: storage '0' claims 1000000000 elements of torch.FloatStorage, more than its 96-byte entry holds", error.Message);
    }

    [Fact]
    public void StateDictWhoseTensorShapeExceedsItsStorageIsRefused()
    {
        // The shape (6, 4) of _rebuild_tensor_v2 claimed as (10^6, 4): PyBridge allocates the shape whole, natively.
        var path = TamperedStateDict("shape.pt", [0x4B, 6, 0x4B, 4, 0x86], [0x4A, .. BitConverter.GetBytes(1_000_000), 0x4B, 4, 0x86]);

        var error = Assert.Throws<InvalidDataException>(() => StateDictIO.ReadStateDict(path));

        Assert.Equal($"{path}: a tensor claims shape [1000000, 4], more than its 96-byte storage holds", error.Message);
    }

    [Fact]
    public void StateDictWhosePickleClaimsMoreBytesThanItHoldsIsRefused()
    {
        // BINUNICODE's 4-byte length of the key 'layer.weight' (12) claimed as 2^31 - 1.
        var path = TamperedStateDict("string.pt", [(byte)'X', 12, 0, 0, 0], [(byte)'X', 0xFF, 0xFF, 0xFF, 0x7F]);

        var error = Assert.Throws<InvalidDataException>(() => StateDictIO.ReadStateDict(path));

        Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(path)}: the pickle claims 2147483647 bytes at byte \\d+ but has \\d+ left: the file is damaged$", error.Message);
    }

    [Fact]
    public void AnnotationWithAnExternalEntityNeverReadsTheEntity()
    {
        var secret = Write("secret.txt", Encoding.ASCII.GetBytes("TOP-SECRET"));
        var xml = $"""
            <?xml version="1.0"?>
            <!DOCTYPE ASAP_Annotations [ <!ENTITY leak SYSTEM "file://{secret}"> ]>
            <ASAP_Annotations><Annotations>
              <Annotation Name="&leak;" Type="Polygon" PartOfGroup="Tumor"><Coordinates>
                <Coordinate Order="0" X="0" Y="0" /><Coordinate Order="1" X="10" Y="0" /><Coordinate Order="2" X="0" Y="10" />
              </Coordinates></Annotation>
            </Annotations></ASAP_Annotations>
            """;
        var path = Write("annotation.xml", Encoding.UTF8.GetBytes(xml));

        var error = Assert.ThrowsAny<Exception>(() => AsapAnnotations.Read(path));

        Assert.IsType<InvalidDataException>(error);
        Assert.StartsWith(path, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("TOP-SECRET", error.Message, StringComparison.Ordinal);
    }

    // A state_dict of one 6 x 4 float tensor as ips writes it (torch.save's layout), its data.pkl with the first
    // occurrence of pattern replaced, in a new zip archive (entries are checksummed, so they are rewritten, not patched).
    private string TamperedStateDict(string name, byte[] pattern, byte[] replacement)
    {
        var original = Path.Combine(_folder, "original-" + name);
        using (var weight = torch.ones(6, 4))
        {
            StateDictIO.Save([new("layer.weight", weight)], original);
        }
        var path = Path.Combine(_folder, name);
        using (var source = ZipFile.OpenRead(original))
        using (var target = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            foreach (var entry in source.Entries)
            {
                using var input = entry.Open();
                using var buffer = new MemoryStream();
                input.CopyTo(buffer);
                var bytes = buffer.ToArray();
                if (entry.Name == "data.pkl")
                {
                    var at = bytes.AsSpan().IndexOf(pattern);
                    Assert.True(at >= 0, "the pickle holds the pattern to replace");
                    bytes = [.. bytes[..at], .. replacement, .. bytes[(at + pattern.Length)..]];
                }
                using var output = target.CreateEntry(entry.FullName, CompressionLevel.NoCompression).Open();
                output.Write(bytes);
            }
        }
        return path;
    }

    // Two HDF5 dimension sizes as the dataspace message stores them: 8-byte little-endian lengths.
    private static byte[] Dims(ulong rows, ulong columns)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, rows);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), columns);
        return bytes;
    }

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // A little-endian classic TIFF: the header, then at byte 8 one directory of an 8-bit RGB tiled image with a single
    // listed tile (offset and size 0), and its next-directory offset.
    private static byte[] Tiff(uint width, uint height, ushort tile, uint nextDirectory)
    {
        (ushort Tag, ushort Type, uint Value)[] entries =
        [
            (256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 2), (277, 3, 3),
            (322, 3, tile), (323, 3, tile), (324, 4, 0), (325, 4, 0),
        ];
        var bytes = new byte[8 + 2 + entries.Length * 12 + 4];
        "II"u8.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2), 42);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)entries.Length);
        for (int i = 0; i < entries.Length; i++)
        {
            var entry = bytes.AsSpan(10 + i * 12, 12);
            BinaryPrimitives.WriteUInt16LittleEndian(entry, entries[i].Tag);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[2..], entries[i].Type);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], 1);
            if (entries[i].Type == 3)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(entry[8..], (ushort)entries[i].Value);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], entries[i].Value);
            }
        }
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4), nextDirectory);
        return bytes;
    }

    // A PNG chunk: length, type, data, CRC-32 of type and data.
    // A PNG of width x height 8-bit RGBA in 57 bytes: the signature, IHDR, an empty IDAT and IEND.
    private static byte[] EmptyPng(int width, int height)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = 6;
        return [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, .. Chunk("IHDR", header), .. Chunk("IDAT", []), .. Chunk("IEND", [])];
    }

    private static byte[] Chunk(string type, byte[] data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        Encoding.ASCII.GetBytes(type).CopyTo(chunk, 4);
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    // CRC-32 of PNG chunks (ISO 3309, as zlib's crc32).
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
            }
        }
        return ~crc;
    }
}
