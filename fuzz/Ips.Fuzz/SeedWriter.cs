using System.Text;
using Ips.Data.Camelyon16;
using Ips.Encoders;
using Ips.Features;
using Ips.IO;
using Ips.Patches;
using Ips.Configuration;
using Ips.Modeling;
using Ips.Training;
using Ips.Slides.Annotations;
using TorchSharp;

namespace Ips.Fuzz;

/// <summary>
/// Writes the seeds that ips's own writers make, one folder per target (fuzz/make-seeds adds the files of the
/// independent tools). Seeds are kept to a few KB: AFL++ mutates small inputs far faster, and the structure is the
/// same as in a large file.
/// </summary>
public static class SeedWriter
{
    /// <summary>Writes every seed under <paramref name="root"/>/&lt;target&gt;/; <paramref name="configs"/> is the
    /// repository's configs folder, whose CAMELYON16 config the checkpoint seed is made from.</summary>
    public static void WriteAll(string root, string configs)
    {
        var content = new SyntheticTissue(512, 384, seed: 3, tissueFraction: 0.4, blobRadius: 120);
        var slide = new SlideWriteOptions { TileSize = 128, SmallestLevelSize = 128, MicronsPerPixel = 0.5, JpegQuality = 30 };
        PyramidalTiffWriter.Write(Seed(root, "tiff-slide", "jpeg.tif"), content, slide);
        PyramidalTiffWriter.Write(Seed(root, "tiff-slide", "lzw.tif"), new SyntheticTissue(256, 128, seed: 4),
            slide with { Compression = SlideCompression.Lzw });
        PyramidalTiffWriter.Write(Seed(root, "tiff-slide", "aperio.svs"), new SyntheticTissue(256, 256, seed: 5),
            slide with { Aperio = true, ObjectivePower = 20 });

        using var features = torch.arange(0, 24, dtype: torch.float32).reshape(6, 4) / 10; // [N, D]
        long[,] coords = { { 0, 0 }, { 128, 0 }, { 256, 0 }, { 0, 128 }, { 128, 128 }, { 256, 128 } };
        Hdf5FeatureWriter.WriteSlideFile(Seed(root, "features-h5", "ips.h5"), features, coords, gzip: false,
            new Dictionary<string, object> { ["patch_size"] = 128, ["patch_level"] = 0 });
        using (var rows = TensorPatchSource.FromPatches(features.alias()))
        {
            Hdf5FeatureWriter.WriteSplitFile(Seed(root, "split-h5", "ips.hdf5"),
                [new PackedSlide("tumor_001", 1, rows, coords), new PackedSlide("normal_001", 0, rows, null)], gzip: false);
        }

        StateDictIO.Save([new("features", features)], Seed(root, "safetensors", "ips.safetensors"));
        using var bias = torch.tensor(new float[] { 0.5f, -1 });
        StateDictIO.Save([new("layer.weight", features), new("layer.bias", bias)], Seed(root, "state-dict", "ips.pt"));

        File.WriteAllBytes(Seed(root, "onnx", "conv.onnx"), TinyOnnxModel());
        AsapAnnotations.Write(Seed(root, "asap-xml", "ips.xml"),
            [new AnnotationPolygon("Annotation 0", [10.5, 200, 150], [20, 30.25, 180])]);
        SlideLabels.Write(Seed(root, "labels-csv", "ips.csv"),
            [new SlideLabel("tumor_001", 1, "train"), new SlideLabel("normal_001", 0, "test")]);
        WriteCheckpoint(Seed(root, "checkpoint", "last.ckpt"), configs);
        WriteHubFolders(root);
    }

    // Model folders shrunk to an 8-pixel, one-block ViT of width 8: timm's config.json with the weights of ips's own
    // VisionTransformer (as safetensors and as torch.save), and transformers' with its layer names (the query, key
    // and value projections that the reader fuses).
    private static void WriteHubFolders(string root)
    {
        const string timm = """
            {"architecture": "vit_small_patch16_224", "num_classes": 0,
             "model_args": {"img_size": 8, "patch_size": 4, "embed_dim": 8, "depth": 1, "num_heads": 2, "init_values": 1e-5},
             "pretrained_cfg": {"input_size": [3, 8, 8], "interpolation": "bicubic", "crop_pct": 1.0,
                                "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}
            """;
        using var vit = new VisionTransformer(new VitConfig(8, 4, 8, 1, 2, InitValues: 1e-5));
        foreach (var name in HubFolderInput.WeightFiles)
        {
            File.WriteAllBytes(Seed(root, "hub-folder", $"timm-{Path.GetExtension(name)[1..]}.bin"),
                HubFolderInput.Pack(timm, name, Serialised(vit.state_dict(), name)));
        }

        const string transformers = """
            {"model_type": "vit", "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
             "image_size": 8, "patch_size": 4, "qkv_bias": true, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
            """;
        using var scope = torch.NewDisposeScope();
        var layer = new Dictionary<string, torch.Tensor>
        {
            ["embeddings.cls_token"] = torch.zeros(1, 1, 8),
            ["layernorm.weight"] = torch.ones(8),
        };
        foreach (var projection in new[] { "query", "key", "value" })
        {
            layer[$"encoder.layer.0.attention.attention.{projection}.weight"] = torch.eye(8);
            layer[$"encoder.layer.0.attention.attention.{projection}.bias"] = torch.zeros(8);
        }
        File.WriteAllBytes(Seed(root, "hub-folder", "transformers-vit.bin"),
            HubFolderInput.Pack(transformers, "pytorch_model.bin", Serialised(layer, "pytorch_model.bin")));
    }

    // The bytes StateDictIO writes for tensors under a file name of that format.
    private static byte[] Serialised(IEnumerable<KeyValuePair<string, torch.Tensor>> tensors, string name)
    {
        var folder = Directory.CreateTempSubdirectory("ips-seed-");
        try
        {
            var path = Path.Combine(folder.FullName, name);
            StateDictIO.Save(tensors, path);
            return File.ReadAllBytes(path);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    // A training checkpoint of the CAMELYON16 config shrunk to a few KB of weights: the same entries and layout as a
    // real run's last.ckpt.
    private static void WriteCheckpoint(string path, string configs)
    {
        var config = ConfigLoader.Load(Path.Combine(configs, "camelyon.yml"),
            ["n_chan_in=4", "D=8", "D_k=4", "D_v=4", "D_inner=8", "H=2", "M=2", "I=2"]);
        using var net = new IpsNet(config);
        using var optimizer = torch.optim.AdamW(net.parameters());
        Checkpoint.Save(path, net, optimizer, config, CheckpointState.Initial);
    }


    private static string Seed(string root, string target, string name) =>
        Path.Combine(Directory.CreateDirectory(Path.Combine(root, target)).FullName, name);

    // A one-node ONNX graph written field by field from onnx.proto (ModelProto.graph = 7; GraphProto.node = 1,
    // initializer = 5; NodeProto input = 1, output = 2, op_type = 4, attribute = 5; AttributeProto name = 1, ints = 8,
    // type = 20; TensorProto dims = 1, data_type = 2, name = 8, raw_data = 9): the fields OnnxModel reads.
    private static byte[] TinyOnnxModel()
    {
        var strides = Message(Text(1, "strides"), Packed(8, [2, 2]), Varint(20, 7));
        var node = Message(Text(1, "x"), Text(1, "w"), Text(2, "y"), Text(4, "Conv"), Bytes(5, strides));
        var weight = Message(Packed(1, [1, 1, 1, 2]), Varint(2, 1), Text(8, "w"), Bytes(9, BitConverter.GetBytes(0.25f).Concat(BitConverter.GetBytes(-1f)).ToArray()));
        var graph = Message(Bytes(1, node), Bytes(5, weight));
        return Message(Varint(1, 8), Bytes(7, graph));
    }

    private static byte[] Message(params byte[][] fields) => fields.SelectMany(f => f).ToArray();

    private static byte[] Varint(int field, long value) => [.. Key(field, 0), .. VarintBytes(value)];

    private static byte[] Text(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    private static byte[] Packed(int field, long[] values) => Bytes(field, values.SelectMany(VarintBytes).ToArray());

    private static byte[] Bytes(int field, byte[] value) => [.. Key(field, 2), .. VarintBytes(value.Length), .. value];

    private static byte[] Key(int field, int wireType) => VarintBytes((field << 3) | wireType);

    private static byte[] VarintBytes(long value)
    {
        var bytes = new List<byte>();
        var rest = (ulong)value;
        do
        {
            var low = (byte)(rest & 0x7F);
            rest >>= 7;
            bytes.Add(rest == 0 ? low : (byte)(low | 0x80));
        }
        while (rest != 0);
        return [.. bytes];
    }
}
