using Ips.IO;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ips.Encoders;

/// <summary>
/// A frozen feature encoder for tiles (docs/design.md section 5, docs/encoders.md): a torchvision-layout ResNet whose
/// pooled output is the tile's feature vector (2048 for ResNet-50, 512 for ResNet-18, 1024 for CLAM's ResNet-50 cut
/// after layer3), or a vision transformer as timm builds it (a hub folder or a published preset such as UNI). Tiles
/// are preprocessed as the encoder was trained (<see cref="TilePreprocessing"/>): a ResNet's centre-cropped to
/// <see cref="Crop"/> and normalised with the mean and std recorded in a BYOL checkpoint, ImageNet's for torchvision
/// weights, or not at all (<c>none</c>, which reproduces the official extraction: it feeds [0, 1] pixels); a ViT's
/// resized and cropped as timm's eval transform does and normalised with its config's mean and std.
/// </summary>
public sealed class TileEncoder : IDisposable
{
    private readonly Module<Tensor, Tensor> _network;
    private readonly TilePreprocessing _preprocessing;
    private readonly Device _device;

    private TileEncoder(Module<Tensor, Tensor> network, int outputDim, TilePreprocessing preprocessing, string normalisation, Device device, EncoderIdentity identity)
    {
        _network = network;
        _device = device;
        _network.to(device);
        _network.eval();
        foreach (var parameter in _network.parameters())
        {
            parameter.requires_grad = false;
        }
        _preprocessing = preprocessing;
        OutputDim = outputDim;
        Normalisation = normalisation;
        Identity = identity;
    }

    /// <summary>Width of a feature vector.</summary>
    public int OutputDim { get; }

    /// <summary>How inputs are normalised, for reports: <c>byol</c>, <c>imagenet</c>, <c>model</c> (a ViT's own mean and std) or <c>none</c>.</summary>
    public string Normalisation { get; }

    /// <summary>Side of the centre crop fed to the encoder.</summary>
    public int Crop => _preprocessing.InputSize;

    /// <summary>The smallest tile side the encoder takes: any for an encoder that resizes tiles, else <see cref="Crop"/>.</summary>
    public int MinimumTileSize => _preprocessing.MinimumTileSize;

    /// <summary>The weights file, network, normalisation, input size, width and pooling that its features are recorded with.</summary>
    public EncoderIdentity Identity { get; }

    /// <summary>
    /// Opens an encoder file: a BYOL checkpoint (<c>byol.ckpt</c>) or a torchvision ResNet-18/50 state_dict
    /// (<c>.pth</c>/<c>.pt</c>/<c>.safetensors</c>, e.g. ImageNet weights or the <c>encoder.pt</c> BYOL writes).
    /// <paramref name="normalisation"/> is <c>auto</c> (as the encoder was trained), <c>imagenet</c> or <c>none</c>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file is missing.</exception>
    /// <exception cref="ArgumentException">An unknown normalisation, or weights of no supported ResNet.</exception>
    public static TileEncoder Open(string path, string normalisation, Device device, int crop = 224) =>
        Open(new EncoderChoice(path, Normalisation: normalisation), device, crop);

    /// <summary>
    /// Opens the encoder <paramref name="choice"/> names: a preset of <see cref="EncoderPresets"/> with its weights file
    /// or hub folder, a hub folder (<see cref="HubFolder"/>), or a ResNet/BYOL file as <see cref="Open(string, string, Device, int)"/>.
    /// A ResNet or BYOL file is centre-cropped to <paramref name="crop"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file, folder or weights are missing.</exception>
    /// <exception cref="ArgumentException">An unknown normalisation or pooling, or options that do not fit the encoder.</exception>
    /// <exception cref="InvalidDataException">The weights do not match the network (one line: file, preset, count, first three keys).</exception>
    public static TileEncoder Open(EncoderChoice choice, Device device, int crop = 224)
    {
        ArgumentNullException.ThrowIfNull(choice);
        var (encoder, weights, pool, normalisation) = choice;
        if (normalisation is not ("auto" or "imagenet" or "none"))
        {
            throw new ArgumentException($"--normalize '{normalisation}' must be auto, imagenet or none");
        }
        if (EncoderPresets.Find(encoder) is { } preset)
        {
            return OpenPreset(preset, weights, pool, normalisation, device);
        }
        if (weights is not null)
        {
            throw new ArgumentException(
                $"--encoder-weights goes with a preset ({string.Join(", ", EncoderPresets.All.Select(p => p.Name))}); '{encoder}' is none, so give the file or folder as --encoder itself");
        }
        if (HubFolder.IsFolder(encoder))
        {
            var folder = HubFolder.Read(encoder);
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(encoder));
            return OpenVit(folder.Config, folder.Layout, folder.WeightsPath, folder.WeightsPath, $"{name}/{Path.GetFileName(folder.WeightsPath)}",
                folder.Architecture, pool, folder.Preprocessing, normalisation, device);
        }
        if (!File.Exists(encoder))
        {
            throw new FileNotFoundException(
                $"--encoder {encoder}: no such file or folder, and not a preset ({string.Join(", ", EncoderPresets.All.Select(p => p.Name))}); give a byol.ckpt, a torchvision resnet50/resnet18 .pth, or a model folder (config.json + weights)", encoder);
        }
        if (pool is not null)
        {
            throw new ArgumentException($"--pool applies to vision transformers (a preset or a model folder); {encoder} is a ResNet/BYOL file");
        }
        return OpenFile(encoder, normalisation, device, crop);
    }

    private static TileEncoder OpenPreset(EncoderPreset preset, string? weights, string? pool, string normalisation, Device device)
    {
        if (weights is null)
        {
            throw new ArgumentException($"--encoder {preset.Name} needs --encoder-weights FILE_OR_DIR: the published weights file, or the model folder holding it (nothing is downloaded)");
        }
        var file = HubFolder.IsFolder(weights) ? HubFolder.FindWeights(weights)
            : File.Exists(weights) ? weights
            : throw new FileNotFoundException($"--encoder-weights {weights}: no such file or folder (the weights of {preset.Name})", weights);
        var source = $"{file} (preset {preset.Name}, {preset.Architecture})";
        var name = $"{preset.Name}/{Path.GetFileName(file)}";
        if (preset.Vit is { } config)
        {
            return OpenVit(config, preset.Layout, file, source, name, preset.Name, pool, preset.Preprocessing, normalisation, device);
        }
        if (pool is not null)
        {
            throw new ArgumentException($"--pool applies to vision transformers; {preset.Name} is a ResNet (average-pooled)");
        }
        var backbone = new ResNetBackbone(preset.Architecture, preset.ResNetStages);
        try
        {
            backbone.LoadTorchvisionWeights(file, source);
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
        var preprocessing = Normalised(preset.Preprocessing, normalisation);
        return new TileEncoder(backbone, backbone.OutputDim, preprocessing, Label(preprocessing, normalisation), device,
            Identify(name, file, preprocessing, normalisation, backbone.OutputDim, preset.Name, null));
    }

    private static TileEncoder OpenVit(
        VitConfig config, string layout, string file, string source, string name, string architecture, string? pool,
        TilePreprocessing preprocessing, string normalisation, Device device)
    {
        var state = HubFolder.ReadWeights(file, layout, config.Depth);
        VisionTransformer network;
        try
        {
            // The keys are checked on a network without memory first: a wrong file fails before gigabytes are allocated.
            using (var shapes = new VisionTransformer(config, pool, source, new Device(DeviceType.META)))
            {
                StateDictIO.RequireMatch(shapes, state, source);
            }
            network = new VisionTransformer(config, pool, source);
            try
            {
                StateDictIO.LoadInto(network, state, source);
            }
            catch
            {
                network.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var tensor in state.Values)
            {
                tensor.Dispose();
            }
        }
        preprocessing = Normalised(preprocessing, normalisation);
        return new TileEncoder(network, network.OutputDim, preprocessing, Label(preprocessing, normalisation), device,
            Identify(name, file, preprocessing, normalisation, network.OutputDim, architecture, network.Pool));
    }

    // --normalize imagenet or none replaces the encoder's own mean and std.
    private static TilePreprocessing Normalised(TilePreprocessing preprocessing, string normalisation) => normalisation switch
    {
        "none" => preprocessing with { Mean = null, Std = null },
        "imagenet" => preprocessing with { Mean = ImageNetNormalisation.Mean, Std = ImageNetNormalisation.Std },
        _ => preprocessing,
    };

    private static string Label(TilePreprocessing preprocessing, string normalisation) =>
        normalisation == "none" ? "none"
        : preprocessing.Mean!.SequenceEqual(ImageNetNormalisation.Mean) && preprocessing.Std!.SequenceEqual(ImageNetNormalisation.Std) ? "imagenet"
        : "model";

    private static EncoderIdentity Identify(string name, string file, TilePreprocessing preprocessing, string normalisation, int width, string architecture, string? pool) =>
        new(name, EncoderIdentity.HashFile(file), Label(preprocessing, normalisation), preprocessing.Mean, preprocessing.Std, preprocessing.InputSize, width, architecture, pool);

    private static TileEncoder OpenFile(string path, string normalisation, Device device, int crop)
    {
        if (ByolEncoderFile.IsCheckpoint(path))
        {
            var (encoder, state) = ByolEncoderFile.Load(path);
            var (mean, std, label) = normalisation switch
            {
                "none" => (null, null, "none"),
                "imagenet" => (ImageNetNormalisation.Mean, ImageNetNormalisation.Std, "imagenet"),
                _ => (state.Mean, state.Std, "byol"),
            };
            return CroppedResNet(encoder, mean, std, label, crop, device, path);
        }
        RefuseModelCheckpoint(path);
        var backbone = new ResNetBackbone(ArchitectureOf(path));
        try
        {
            backbone.LoadTorchvisionWeights(path);
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
        return normalisation == "none"
            ? CroppedResNet(backbone, null, null, "none", crop, device, path)
            : CroppedResNet(backbone, ImageNetNormalisation.Mean, ImageNetNormalisation.Std, "imagenet", crop, device, path);
    }

    // A ResNet or BYOL file: tiles centre-cropped (no resize), as the project has always fed them.
    private static TileEncoder CroppedResNet(ResNetBackbone backbone, float[]? mean, float[]? std, string label, int crop, Device device, string path) =>
        new(backbone, backbone.OutputDim, new TilePreprocessing(crop, 1.0, "bilinear", mean, std, Resize: false), label, device,
            new EncoderIdentity(Path.GetFileName(path), EncoderIdentity.HashFile(path), label, mean, std, crop, backbone.OutputDim));

    // The last.ckpt or best.ckpt of `ips train` is the mistake a user makes most (the run folder is where the weights
    // are); it is recognised by the entries of Training.Checkpoint's layout (Encoders sit below Training, so the names
    // are spelt here) and answered with what --encoder takes instead of a checkpoint-format error.
    private static void RefuseModelCheckpoint(string path)
    {
        if (CheckpointArchive.Holds(path, "model.pt", "state.json"))
        {
            throw new ArgumentException(
                $"--encoder {path}: this is an IPS model checkpoint (from `ips train`), not a tile encoder; --encoder takes the byol.ckpt of `ips pretrain byol` or a torchvision resnet50/resnet18 state_dict (.pth)");
        }
    }

    /// <summary>Features of <paramref name="tiles"/> <c>[B, 3, H, W]</c> in [0, 1]: <c>[B, D]</c> on the CPU.</summary>
    public Tensor Encode(Tensor tiles)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        if (tiles.dim() != 4 || tiles.shape[1] != 3 || tiles.shape[2] < MinimumTileSize || tiles.shape[3] < MinimumTileSize)
        {
            throw new ArgumentException(
                $"tiles of shape [{string.Join(", ", tiles.shape)}] cannot be encoded: RGB tiles of at least {MinimumTileSize}x{MinimumTileSize} are needed");
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = _preprocessing.Apply(tiles.to(_device)); // [B, 3, crop, crop]
        return _network.call(x).cpu().MoveToOuterDisposeScope(); // [B, D]
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _network.Dispose();
    }

    /// <summary>
    /// The ResNet of <see cref="EncoderRegistry"/> whose parameters the state_dict at <paramref name="path"/> holds (its
    /// classifier and batch-norm counters aside): the one with the most names and shapes in common, and of those the
    /// one expecting the fewest the file lacks, so resnet18 weights are not taken for a deeper ResNet that contains
    /// all of resnet18's names. Loading then reports any key the file lacks or has in excess against that architecture.
    /// </summary>
    private static string ArchitectureOf(string path)
    {
        var state = StateDictIO.ReadStateDict(path);
        try
        {
            var shapes = Shapes(state);
            return EncoderRegistry.ResNetNames
                .Select(name =>
                {
                    using var candidate = new ResNetBackbone(name);
                    var expected = Shapes(candidate.state_dict());
                    var common = expected.Count(pair => shapes.TryGetValue(pair.Key, out var shape) && shape == pair.Value);
                    return (Name: name, Common: common, Lacking: expected.Count - common);
                })
                .OrderByDescending(candidate => candidate.Common)
                .ThenBy(candidate => candidate.Lacking)
                .First().Name;
        }
        finally
        {
            foreach (var tensor in state.Values)
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>Parameter and buffer shapes by name, without <c>fc.*</c> and <c>num_batches_tracked</c>.</summary>
    private static Dictionary<string, string> Shapes(IReadOnlyDictionary<string, Tensor> state) =>
        state.Where(pair => !pair.Key.StartsWith("fc.", StringComparison.Ordinal)
                            && !pair.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(pair => pair.Key, pair => string.Join('x', pair.Value.shape));
}
