using System.Globalization;
using System.Text.Json;
using Ips.IO;
using static TorchSharp.torch;

namespace Ips.Encoders;

/// <summary>
/// A model folder in the Hugging Face hub layout, as the authors of pathology encoders publish them: a
/// <c>config.json</c> and the weights in <c>model.safetensors</c> (f32, f16 or bf16) or <c>pytorch_model.bin</c>. The
/// config is timm's (<c>architecture</c>, a timm ViT name, with <c>model_args</c> overriding its defaults and
/// <c>pretrained_cfg</c> giving the preprocessing) or transformers' (<c>model_type</c> <c>vit</c> or <c>dinov2</c>,
/// with a <c>preprocessor_config.json</c> beside it when the folder has one).
/// </summary>
public sealed class HubFolder
{
    private static readonly string[] WeightFiles = ["model.safetensors", "pytorch_model.bin"];

    // model_args that change nothing at inference (dropout rates, the classifier, which the loader leaves out) or
    // that this implementation always does (dynamic_img_size: a tile of another size resamples the positions).
    private static readonly HashSet<string> InertArgs =
    [
        "num_classes", "dynamic_img_size", "drop_rate", "pos_drop_rate", "patch_drop_rate", "proj_drop_rate", "attn_drop_rate",
        "drop_path_rate", "weight_init", "pretrained_cfg", "pretrained_cfg_overlay",
    ];

    private HubFolder(string directory, string weights, string layout, string architecture, VitConfig config, TilePreprocessing preprocessing)
    {
        Directory = directory;
        WeightsPath = weights;
        Layout = layout;
        Architecture = architecture;
        Config = config;
        Preprocessing = preprocessing;
    }

    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>The weights file in it.</summary>
    public string WeightsPath { get; }

    /// <summary>Key layout of the weights: <c>timm</c>, or transformers' <c>vit</c> or <c>dinov2</c>.</summary>
    public string Layout { get; }

    /// <summary>The timm model name, or <c>transformers vit</c> / <c>transformers dinov2</c>.</summary>
    public string Architecture { get; }

    /// <summary>The network the config describes.</summary>
    public VitConfig Config { get; }

    /// <summary>The tile preprocessing the config gives.</summary>
    public TilePreprocessing Preprocessing { get; }

    /// <summary>Whether <paramref name="path"/> is a folder (a hub model folder is asked for by its folder).</summary>
    public static bool IsFolder(string path) => System.IO.Directory.Exists(path);

    /// <summary>The weights file of the hub folder <paramref name="directory"/>: <c>model.safetensors</c>, else <c>pytorch_model.bin</c>.</summary>
    /// <exception cref="FileNotFoundException">The folder has neither.</exception>
    public static string FindWeights(string directory) =>
        WeightFiles.Select(name => Path.Combine(directory, name)).FirstOrDefault(File.Exists)
        ?? throw new FileNotFoundException($"{directory}: no weights file; expected {string.Join(" or ", WeightFiles)}", Path.Combine(directory, WeightFiles[0]));

    /// <summary>Reads the folder's <c>config.json</c> and finds its weights file.</summary>
    /// <exception cref="FileNotFoundException">No config.json or no weights file.</exception>
    /// <exception cref="InvalidDataException">config.json is not JSON, or misses what it must say.</exception>
    /// <exception cref="ArgumentException">An unknown architecture or a value out of range.</exception>
    public static HubFolder Read(string directory)
    {
        var configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath))
        {
            throw new FileNotFoundException(
                $"{directory}: no config.json; an encoder folder is in the Hugging Face hub layout (config.json and model.safetensors or pytorch_model.bin)", configPath);
        }
        var weights = FindWeights(directory);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(configPath));
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"{configPath}: not valid JSON ({error.Message})", error);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{configPath}: expected a JSON object");
            }
            try
            {
                return root.TryGetProperty("architecture", out _)
                    ? ReadTimm(directory, weights, configPath, root)
                    : root.TryGetProperty("model_type", out _)
                    ? ReadTransformers(directory, weights, configPath, root)
                    : throw new InvalidDataException(
                        $"{configPath}: neither timm's 'architecture' nor transformers' 'model_type'; is this a vision transformer's config?");
            }
            catch (Exception error) when (error is InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{configPath}: a value has the wrong type ({error.Message})", error);
            }
        }
    }

    /// <summary>
    /// The folder's weights under timm's names, as float32 CPU tensors the caller owns: transformers' names are mapped
    /// (the query, key and value projections fused into <c>qkv</c>), and what the encoder does not use (a classifier
    /// <c>head</c>, transformers' <c>pooler</c> and <c>mask_token</c>) is left out.
    /// </summary>
    /// <exception cref="InvalidDataException">The weights file is damaged or not a state_dict.</exception>
    public Dictionary<string, Tensor> ReadWeights() => ReadWeights(WeightsPath, Layout, Config.Depth);

    /// <summary><see cref="ReadWeights()"/> for a weights file of <paramref name="layout"/> outside a folder.</summary>
    public static Dictionary<string, Tensor> ReadWeights(string path, string layout, int depth)
    {
        var state = StateDictIO.ReadStateDict(path);
        foreach (var key in state.Keys.ToList())
        {
            if (state[key].dtype != ScalarType.Float32 && state[key].is_floating_point())
            {
                var old = state[key];
                state[key] = old.to(ScalarType.Float32);
                old.Dispose();
            }
        }
        var mapped = layout == "timm" ? state : TransformersLayout.ToTimm(state, layout == "dinov2", depth);
        foreach (var key in mapped.Keys.Where(IsUnused).ToList())
        {
            mapped[key].Dispose();
            mapped.Remove(key);
        }
        return mapped;
    }

    private static bool IsUnused(string key) => key.StartsWith("head.", StringComparison.Ordinal);

    private static HubFolder ReadTimm(string directory, string weights, string configPath, JsonElement root)
    {
        var architecture = root.GetProperty("architecture").GetString() ?? "";
        if (EncoderRegistry.Find(architecture) is not VitType type)
        {
            throw new ArgumentException(
                $"{configPath}: architecture '{architecture}' is not a known vision transformer; expected one of {string.Join(", ", EncoderRegistry.VitNames)}");
        }
        var config = type.Config;
        if (root.TryGetProperty("model_args", out var args))
        {
            config = WithModelArgs(config, args, configPath);
        }
        config.Validate(configPath);
        var preprocessing = new TilePreprocessing(config.ImageSize, 1.0, "bicubic", ImageNetNormalisation.Mean, ImageNetNormalisation.Std);
        if (root.TryGetProperty("pretrained_cfg", out var cfg))
        {
            preprocessing = WithPretrainedCfg(preprocessing, cfg, configPath);
        }
        preprocessing.Validate(configPath);
        return new HubFolder(directory, weights, "timm", architecture, config, preprocessing);
    }

    /// <summary><paramref name="config"/> with the constructor arguments of a timm <c>model_args</c> object applied.</summary>
    /// <exception cref="ArgumentException">An argument this implementation does not know or cannot honour.</exception>
    public static VitConfig WithModelArgs(VitConfig config, JsonElement args, string source)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var arg in args.EnumerateObject())
        {
            var value = arg.Value;
            config = arg.Name switch
            {
                "img_size" => config with { ImageSize = Square(value, "img_size", source) },
                "patch_size" => config with { PatchSize = Square(value, "patch_size", source) },
                "embed_dim" => config with { EmbedDim = value.GetInt32() },
                "depth" => config with { Depth = value.GetInt32() },
                "num_heads" => config with { Heads = value.GetInt32() },
                "mlp_ratio" => config with { MlpRatio = value.GetDouble() },
                "mlp_layer" => config with { MlpLayer = value.GetString() ?? "" },
                "act_layer" => config with { Activation = value.GetString() ?? "" },
                "qkv_bias" => config with { QkvBias = value.GetBoolean() },
                "init_values" => config with { InitValues = value.ValueKind == JsonValueKind.Null ? null : value.GetDouble() },
                "reg_tokens" => config with { RegTokens = value.GetInt32() },
                "class_token" => config with { ClassToken = value.GetBoolean() },
                "no_embed_class" => config with { NoEmbedClass = value.GetBoolean() },
                "global_pool" => config with { GlobalPool = value.GetString() ?? "" },
                "fc_norm" => config with { FcNorm = value.ValueKind == JsonValueKind.Null ? null : value.GetBoolean() },
                "in_chans" when value.GetInt32() == 3 => config,
                _ when InertArgs.Contains(arg.Name) => config,
                _ => throw new ArgumentException(
                    $"{source}: model_args '{arg.Name}' ({value.GetRawText()}) is not supported; the ViT here takes img_size, patch_size, embed_dim, depth, num_heads, mlp_ratio, mlp_layer, act_layer, qkv_bias, init_values, reg_tokens, class_token, no_embed_class, global_pool, fc_norm and in_chans 3"),
            };
        }
        return config;
    }

    private static int Square(JsonElement value, string name, string source)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            return value.GetInt32();
        }
        var sides = value.EnumerateArray().Select(side => side.GetInt32()).Distinct().ToList();
        return sides.Count == 1 ? sides[0] : throw new ArgumentException($"{source}: {name} {value.GetRawText()} is not square; only square ones are supported");
    }

    private static TilePreprocessing WithPretrainedCfg(TilePreprocessing preprocessing, JsonElement cfg, string source)
    {
        foreach (var entry in cfg.EnumerateObject())
        {
            preprocessing = entry.Name switch
            {
                "mean" => preprocessing with { Mean = [.. entry.Value.EnumerateArray().Select(v => v.GetSingle())] },
                "std" => preprocessing with { Std = [.. entry.Value.EnumerateArray().Select(v => v.GetSingle())] },
                "input_size" => preprocessing with { InputSize = InputSide(entry.Value, source) },
                "crop_pct" => preprocessing with { CropPct = entry.Value.GetDouble() },
                "interpolation" => preprocessing with { Interpolation = entry.Value.GetString() ?? "" },
                _ => preprocessing,
            };
        }
        return preprocessing;
    }

    private static int InputSide(JsonElement inputSize, string source)
    {
        var values = inputSize.EnumerateArray().Select(v => v.GetInt32()).ToArray();
        return values is [3, var h, var w] && h == w
            ? h
            : throw new ArgumentException($"{source}: pretrained_cfg input_size {inputSize.GetRawText()} must be [3, S, S]");
    }

    private static HubFolder ReadTransformers(string directory, string weights, string configPath, JsonElement root)
    {
        var modelType = root.GetProperty("model_type").GetString() ?? "";
        if (modelType is not ("vit" or "dinov2"))
        {
            throw new ArgumentException($"{configPath}: model_type '{modelType}' is not supported; expected vit or dinov2 (transformers' ViTModel, Dinov2Model)");
        }
        var dinov2 = modelType == "dinov2";
        int Int(string name, int fallback) => root.TryGetProperty(name, out var v) ? v.GetInt32() : fallback;
        double Double(string name, double fallback) => root.TryGetProperty(name, out var v) ? v.GetDouble() : fallback;
        bool Bool(string name, bool fallback) => root.TryGetProperty(name, out var v) ? v.GetBoolean() : fallback;
        if (Bool("use_swiglu_ffn", false))
        {
            throw new ArgumentException($"{configPath}: use_swiglu_ffn true (transformers' Dinov2SwiGLUFFN) is not supported; its timm export (vit_giant_patch14_dinov2) is");
        }
        var activation = root.TryGetProperty("hidden_act", out var act) ? act.GetString() ?? "" : "gelu";
        if (activation != "gelu")
        {
            throw new ArgumentException($"{configPath}: hidden_act '{activation}' is not supported; expected gelu");
        }
        var width = Int("hidden_size", 768);
        // Defaults are those of transformers' ViTConfig and Dinov2Config.
        var mlpRatio = dinov2 ? Double("mlp_ratio", 4) : (double)Int("intermediate_size", 3072) / width;
        var config = new VitConfig(
            ImageSize: Int("image_size", dinov2 ? 518 : 224), PatchSize: Int("patch_size", dinov2 ? 14 : 16), EmbedDim: width,
            Depth: Int("num_hidden_layers", 12), Heads: Int("num_attention_heads", 12), MlpRatio: mlpRatio,
            QkvBias: Bool("qkv_bias", true), InitValues: dinov2 ? Double("layerscale_value", 1.0) : null,
            LayerNormEps: Double("layer_norm_eps", dinov2 ? 1e-6 : 1e-12), PositionResize: dinov2 ? "dinov2" : "timm");
        if (!dinov2 && config.MlpHidden != Int("intermediate_size", 3072))
        {
            throw new ArgumentException($"{configPath}: intermediate_size {Int("intermediate_size", 3072)} cannot be written as int(hidden_size x mlp_ratio) for hidden_size {width}");
        }
        config.Validate(configPath);
        var preprocessing = ReadImageProcessor(directory, config.ImageSize);
        return new HubFolder(directory, weights, modelType, $"transformers {modelType}", config, preprocessing);
    }

    // transformers' image processors: normalise with image_mean / image_std, resize (shortest_edge or height), centre-crop
    // to crop_size when do_center_crop; without preprocessor_config.json, ImageNet's mean and std at the model's size.
    private static TilePreprocessing ReadImageProcessor(string directory, int imageSize)
    {
        var path = Path.Combine(directory, "preprocessor_config.json");
        var preprocessing = new TilePreprocessing(imageSize, 1.0, "bicubic", ImageNetNormalisation.Mean, ImageNetNormalisation.Std);
        if (!File.Exists(path))
        {
            return preprocessing;
        }
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            if (root.TryGetProperty("image_mean", out var mean))
            {
                preprocessing = preprocessing with { Mean = [.. mean.EnumerateArray().Select(v => v.GetSingle())] };
            }
            if (root.TryGetProperty("image_std", out var std))
            {
                preprocessing = preprocessing with { Std = [.. std.EnumerateArray().Select(v => v.GetSingle())] };
            }
            if (root.TryGetProperty("resample", out var resample))
            {
                // PIL's codes: 2 bilinear, 3 bicubic.
                preprocessing = preprocessing with { Interpolation = resample.GetInt32() == 2 ? "bilinear" : resample.GetInt32() == 3 ? "bicubic" : $"PIL resample {resample.GetInt32()}" };
            }
            int? resized = root.TryGetProperty("size", out var size)
                ? size.ValueKind == JsonValueKind.Number ? size.GetInt32()
                : size.TryGetProperty("shortest_edge", out var edge) ? edge.GetInt32()
                : size.TryGetProperty("height", out var height) ? height.GetInt32() : null
                : null;
            var cropped = root.TryGetProperty("do_center_crop", out var crop) && crop.GetBoolean() && root.TryGetProperty("crop_size", out var cropSize)
                ? cropSize.ValueKind == JsonValueKind.Number ? cropSize.GetInt32() : cropSize.GetProperty("height").GetInt32()
                : (int?)null;
            if (cropped is { } input && resized is { } side)
            {
                preprocessing = preprocessing with { InputSize = input, CropPct = (double)input / side };
            }
            else if (resized is { } only)
            {
                preprocessing = preprocessing with { InputSize = only };
            }
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new InvalidDataException($"{path}: not an image processor config ({error.Message})", error);
        }
        preprocessing.Validate(path);
        return preprocessing;
    }

    /// <summary>A one-line description for reports.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Architecture} ({Config.Depth} blocks, width {Config.EmbedDim}, patch {Config.PatchSize})");
}
