using Ips.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Encoders;

/// <summary>
/// A frozen feature encoder for tiles (docs/design.md section 5): a torchvision-layout ResNet whose pooled output is the
/// tile's feature vector (2048 for ResNet-50, 512 for ResNet-18). Tiles are centre-cropped to <see cref="Crop"/> and
/// normalised as the encoder was trained: the mean and std recorded in a BYOL checkpoint, ImageNet's for torchvision
/// weights, or not at all (<c>none</c>, which reproduces the official extraction: it feeds [0, 1] pixels).
/// </summary>
public sealed class TileEncoder : IDisposable
{
    private readonly ResNetBackbone _backbone;
    private readonly Tensor? _mean;
    private readonly Tensor? _std;
    private readonly Device _device;

    private TileEncoder(ResNetBackbone backbone, float[]? mean, float[]? std, string normalisation, int crop, Device device, string path)
    {
        _backbone = backbone;
        _device = device;
        _backbone.to(device);
        _backbone.eval();
        foreach (var parameter in _backbone.parameters())
        {
            parameter.requires_grad = false;
        }
        _mean = mean is null ? null : tensor(mean).view(1, 3, 1, 1).to(device);
        _std = std is null ? null : tensor(std).view(1, 3, 1, 1).to(device);
        Normalisation = normalisation;
        Crop = crop;
        Identity = new EncoderIdentity(Path.GetFileName(path), EncoderIdentity.HashFile(path), normalisation, mean, std, crop, backbone.OutputDim);
    }

    /// <summary>Width of a feature vector.</summary>
    public int OutputDim => _backbone.OutputDim;

    /// <summary>How inputs are normalised, for reports: <c>byol</c>, <c>imagenet</c> or <c>none</c>.</summary>
    public string Normalisation { get; }

    /// <summary>Side of the centre crop fed to the encoder.</summary>
    public int Crop { get; }

    /// <summary>The weights file, normalisation, input size and width that its features are recorded with.</summary>
    public EncoderIdentity Identity { get; }

    /// <summary>
    /// Opens an encoder file: a BYOL checkpoint (<c>byol.ckpt</c>) or a torchvision ResNet-18/50 state_dict
    /// (<c>.pth</c>/<c>.pt</c>/<c>.safetensors</c>, e.g. ImageNet weights or the <c>encoder.pt</c> BYOL writes).
    /// <paramref name="normalisation"/> is <c>auto</c> (as the encoder was trained), <c>imagenet</c> or <c>none</c>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file is missing.</exception>
    /// <exception cref="ArgumentException">An unknown normalisation, or weights of no supported ResNet.</exception>
    public static TileEncoder Open(string path, string normalisation, Device device, int crop = 224)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"--encoder {path}: file not found (a byol.ckpt or a torchvision resnet50/resnet18 .pth)", path);
        }
        if (normalisation is not ("auto" or "imagenet" or "none"))
        {
            throw new ArgumentException($"--normalize '{normalisation}' must be auto, imagenet or none");
        }
        if (ByolEncoderFile.IsCheckpoint(path))
        {
            var (encoder, state) = ByolEncoderFile.Load(path);
            return normalisation switch
            {
                "none" => new TileEncoder(encoder, null, null, "none", crop, device, path),
                "imagenet" => new TileEncoder(encoder, ImageNetNormalisation.Mean, ImageNetNormalisation.Std, "imagenet", crop, device, path),
                _ => new TileEncoder(encoder, state.Mean, state.Std, "byol", crop, device, path),
            };
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
            ? new TileEncoder(backbone, null, null, "none", crop, device, path)
            : new TileEncoder(backbone, ImageNetNormalisation.Mean, ImageNetNormalisation.Std, "imagenet", crop, device, path);
    }

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
        if (tiles.dim() != 4 || tiles.shape[1] != 3 || tiles.shape[2] < Crop || tiles.shape[3] < Crop)
        {
            throw new ArgumentException(
                $"tiles of shape [{string.Join(", ", tiles.shape)}] cannot be encoded: RGB tiles of at least {Crop}x{Crop} are needed");
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Centre crop as torchvision's CenterCrop: the offset rounds (H - crop) / 2 to the nearest integer.
        var top = (int)Math.Round((tiles.shape[2] - Crop) / 2.0);
        var left = (int)Math.Round((tiles.shape[3] - Crop) / 2.0);
        var x = tiles.narrow(2, top, Crop).narrow(3, left, Crop).to(_device); // [B, 3, crop, crop]
        if (_mean is not null && _std is not null)
        {
            x = (x - _mean) / _std;
        }
        return _backbone.call(x).cpu().MoveToOuterDisposeScope(); // [B, D]
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _backbone.Dispose();
        _mean?.Dispose();
        _std?.Dispose();
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
