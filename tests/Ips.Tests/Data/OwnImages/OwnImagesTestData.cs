using System.Globalization;
using BitMiracle.LibTiff.Classic;
using Ips.Configuration;
using Ips.Imaging;
using static TorchSharp.torch;

namespace Ips.Tests.Data.OwnImages;

/// <summary>Configs and image files for the tests of your own images.</summary>
internal static class OwnImagesTestData
{
    /// <summary>
    /// A small image config on <paramref name="dataDir"/>: resnet18 cut after layer2, 16 px patches, M 2, I 4,
    /// eager sequential, one softmax task <c>label</c> of <paramref name="nClass"/> classes; <paramref name="overrides"/> as --set.
    /// </summary>
    public static IpsConfig Config(string dataDir, int nClass = 2, params string[] overrides) =>
        ConfigLoader.Parse(ConfigText(dataDir, nClass), "own.yml", overrides);

    /// <summary>The YAML text of <see cref="Config"/>.</summary>
    public static string ConfigText(string dataDir, int nClass = 2) =>
        string.Create(CultureInfo.InvariantCulture, $"""
            n_epoch: 1
            B: 2
            B_seq: 1
            n_epoch_warmup: 0
            lr: 0.001
            wd: 0.1
            n_class: {nClass}
            data_dir: '{dataDir}'
            n_worker: 0
            eager: True
            is_image: True
            enc_type: 'resnet18'
            n_chan_in: 3
            n_res_blocks: 2
            n_token: 1
            M: 2
            I: 4
            patch_size: [16, 16]
            patch_stride: [16, 16]
            use_pos: False
            H: 2
            D: 128
            D_k: 16
            D_v: 16
            D_inner: 64
            dropout: 0
            attn_dropout: 0
            tasks:
              task0:
                id: 0
                name: 'label'
                act_fn: 'softmax'
                metric: 'accuracy'
            """);

    /// <summary>Writes an RGB PNG of <paramref name="height"/> x <paramref name="width"/> filled with <paramref name="grey"/>.</summary>
    public static void Png(string path, int height, int width, float grey = 0.5f)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = full([3, height, width], grey);
        ImageFile.SaveRgb(image, path);
    }

    /// <summary>A 24-bit BMP (bottom-up rows of BGR padded to 4 bytes) whose pixel (x, y) is (x, y, 200).</summary>
    public static void Bmp(string path, int height, int width)
    {
        var stride = (width * 3 + 3) / 4 * 4;
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream);
        writer.Write((byte)'B');
        writer.Write((byte)'M');
        writer.Write(54 + stride * height);
        writer.Write(0);
        writer.Write(54);
        writer.Write(40);
        writer.Write(width);
        writer.Write(height);
        writer.Write((short)1);
        writer.Write((short)24);
        writer.Write(0);
        writer.Write(stride * height);
        writer.Write(2835);
        writer.Write(2835);
        writer.Write(0);
        writer.Write(0);
        for (var y = height - 1; y >= 0; y--)
        {
            var row = new byte[stride];
            for (var x = 0; x < width; x++)
            {
                row[x * 3] = 200;
                row[x * 3 + 1] = (byte)y;
                row[x * 3 + 2] = (byte)x;
            }
            writer.Write(row);
        }
    }

    /// <summary>
    /// A 16-bit TIFF of <paramref name="samples"/> samples (1 grey, 3 RGB), striped or tiled (16 x 16 tiles), whose
    /// sample c of pixel (x, y) is <see cref="Tiff16Value"/>.
    /// </summary>
    public static void Tiff16(string path, int height, int width, int samples, bool tiled)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var tiff = Tiff.Open(path, "w") ?? throw new IOException($"cannot write {path}");
        tiff.SetField(TiffTag.IMAGEWIDTH, width);
        tiff.SetField(TiffTag.IMAGELENGTH, height);
        tiff.SetField(TiffTag.BITSPERSAMPLE, 16);
        tiff.SetField(TiffTag.SAMPLESPERPIXEL, samples);
        tiff.SetField(TiffTag.PHOTOMETRIC, samples == 1 ? Photometric.MINISBLACK : Photometric.RGB);
        tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
        tiff.SetField(TiffTag.COMPRESSION, Compression.DEFLATE);
        byte[] Pixels(int x0, int y0, int w, int h)
        {
            var bytes = new byte[w * h * samples * 2];
            for (var y = 0; y < h; y++)
            {
                for (var x = 0; x < w; x++)
                {
                    for (var c = 0; c < samples; c++)
                    {
                        var value = x0 + x < width && y0 + y < height ? Tiff16Value(x0 + x, y0 + y, c) : (ushort)0;
                        BitConverter.TryWriteBytes(bytes.AsSpan(((y * w + x) * samples + c) * 2), value);
                    }
                }
            }
            return bytes;
        }
        if (tiled)
        {
            tiff.SetField(TiffTag.TILEWIDTH, 16);
            tiff.SetField(TiffTag.TILELENGTH, 16);
            for (var y = 0; y < height; y += 16)
            {
                for (var x = 0; x < width; x += 16)
                {
                    var tile = Pixels(x, y, 16, 16);
                    tiff.WriteTile(tile, x, y, 0, 0);
                }
            }
        }
        else
        {
            tiff.SetField(TiffTag.ROWSPERSTRIP, 4);
            for (var y = 0; y < height; y++)
            {
                tiff.WriteScanline(Pixels(0, y, width, 1), y);
            }
        }
    }

    /// <summary>The 16-bit value the generated TIFF holds at (x, y) in sample c; most are not 8-bit levels (multiples of 257).</summary>
    public static ushort Tiff16Value(int x, int y, int c) => (ushort)(1000 * c + 251 * x + 997 * y + 1);
}
