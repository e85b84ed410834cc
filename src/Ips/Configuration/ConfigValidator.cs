using Ips.Encoders;

namespace Ips.Configuration;

/// <summary>
/// The consistency rules of a config (docs/design.md sections 2-4), checked once at load so a wrong value fails with a
/// sentence instead of a shape error deep inside libtorch.
/// </summary>
internal static class ConfigValidator
{
    internal static readonly string[] ShuffleStyles = ["batch", "instance"];
    internal static readonly string[] SelectionDtypes = ["float32", "bfloat16"];
    internal static readonly string[] TestPreprocessings = ["traffic", "images", "none"];
    internal static readonly string[] Normalizations = ["imagenet", "none"];
    internal static readonly string[] ActFns = ["softmax", "sigmoid"];
    internal static readonly string[] Metrics = ["accuracy", "multilabel_accuracy", "auc"];

    public static void Validate(IpsConfig c, YamlValues v)
    {
        Positive(v, "n_epoch", c.NEpoch);
        Positive(v, "B", c.B);
        Positive(v, "M", c.M);
        Positive(v, "I", c.I);
        Positive(v, "H", c.H);
        Positive(v, "D", c.D);
        Positive(v, "D_k", c.DK);
        Positive(v, "D_v", c.DV);
        Positive(v, "D_inner", c.DInner);
        Positive(v, "n_token", c.NToken);
        Positive(v, "n_class", c.NClass);
        Positive(v, "n_chan_in", c.NChanIn);
        if (c.N is { } n) Positive(v, "N", n);

        if (!(c.NEpochWarmup >= 0 && c.NEpochWarmup <= c.NEpoch))
            throw v.Error($"n_epoch_warmup ({c.NEpochWarmup}) must be in [0, n_epoch] = [0, {c.NEpoch}]");
        if (c.BSeq != 1 && c.BSeq != c.B)
            throw v.Error($"B_seq ({c.BSeq}) must be 1 (eager sequential loading) or B ({c.B}) (eager or lazy loading)");
        if (!(c.Lr > 0 && c.Lr <= 1))
            throw v.Error($"lr ({c.Lr}) must be in (0, 1]");
        if (!(c.Wd >= 0))
            throw v.Error($"wd ({c.Wd}) must be >= 0");
        if (!(c.Eps >= 0 && c.Eps < 1))
            throw v.Error($"eps ({c.Eps}) must be in [0, 1)");
        if (!(c.AttnDropout >= 0 && c.AttnDropout < 1))
            throw v.Error($"attn_dropout ({c.AttnDropout}) must be in [0, 1)");
        if (!(c.Dropout >= 0 && c.Dropout < 1))
            throw v.Error($"dropout ({c.Dropout}) must be in [0, 1)");
        if (c.NWorker < 0)
            throw v.Error($"n_worker ({c.NWorker}) must be >= 0");
        if (c.TrackEpoch < 0 || c.TrackEpoch >= c.NEpoch)
            throw v.Error($"track_epoch ({c.TrackEpoch}) must be in [0, n_epoch) = [0, {c.NEpoch})");
        if (c.DataDir.Length == 0)
            throw v.Error($"data_dir must name the dataset directory");

        if (c.LabelsCsv is { } labels && c.IsImage)
            throw v.Error($"labels_csv ('{labels}') names the labels of pre-extracted feature files; it needs is_image: False");
        if (c.LabelsCsv is { } empty && empty.Trim().Length == 0)
            throw v.Error($"labels_csv must name a CSV file (slide_id,label[,split]) or be left out");
        if (c.TestPreprocessing is { } preprocessing && !TestPreprocessings.Contains(preprocessing))
            throw v.Error($"test_preprocessing '{preprocessing}' must be one of {string.Join(", ", TestPreprocessings)}, or be left out for training to record it");
        if (c.TestPreprocessing == "traffic" && !c.IsImage)
            throw v.Error($"test_preprocessing traffic resizes and normalises photos; it needs is_image: True");

        if (c.ImageSize is { } size && (size.Length != 2 || size[0] <= 0 || size[1] <= 0))
            throw v.Error($"image_size must be two positive integers [height, width], got [{string.Join(", ", size)}]");
        if (!Normalizations.Contains(c.Normalize))
            throw v.Error($"normalize '{c.Normalize}' must be one of {string.Join(", ", Normalizations)}");
        if (!(c.AugColorJitter >= 0 && c.AugColorJitter < 1))
            throw v.Error($"aug_color_jitter ({c.AugColorJitter}) must be in [0, 1)");
        if (!(c.AugTranslate >= 0 && c.AugTranslate < 1))
            throw v.Error($"aug_translate ({c.AugTranslate}) must be in [0, 1), a fraction of the image's width and height");

        if (c.N is { } total && c.M > total)
            throw v.Error($"M ({c.M}) must be <= N ({total})");
        if (c.UsePos && c.N is null)
            throw v.Error($"use_pos is True but N is not set; the positional-encoding table has N rows");
        if (c.UsePos && c.D % 2 != 0)
            throw v.Error($"D ({c.D}) must be even when use_pos is True (sin and cos fill pairs of dimensions)");

        if (!EncoderRegistry.ResNetNames.Contains(c.EncType))
            throw v.Error($"enc_type '{c.EncType}' must be one of {string.Join(", ", EncoderRegistry.ResNetNames)}");
        if (!ShuffleStyles.Contains(c.ShuffleStyle))
            throw v.Error($"shuffle_style '{c.ShuffleStyle}' must be one of {string.Join(", ", ShuffleStyles)}");
        if (!SelectionDtypes.Contains(c.SelectionDtype))
            throw v.Error($"selection_dtype '{c.SelectionDtype}' must be one of {string.Join(", ", SelectionDtypes)}");
        if (c.IsImage) ValidateImageEncoder(c, v);
        // Only architectures with packaged ImageNet weights (Encoders/PretrainedWeights) do without the user's file.
        if (c.Pretrained && string.IsNullOrWhiteSpace(c.PretrainedWeights) && c.IsImage && !EncoderRegistry.ResNet(c.EncType).PackagedWeights)
            throw v.Error($"pretrained is True but pretrained_weights is not set: only resnet18 ships with ImageNet weights, give the path of torchvision's {c.EncType} state_dict file (e.g. weights/resnet50-0676ba61.pth)");

        ValidateTasks(c, v);
    }

    internal static void Positive(YamlValues v, string key, int value)
    {
        if (value <= 0) throw v.Error($"{key} ({value}) must be > 0");
    }

    private static void ValidateImageEncoder(IpsConfig c, YamlValues v)
    {
        if (!PatchEncoders.StageCounts.Contains(c.NResBlocks))
            throw v.Error($"n_res_blocks ({c.NResBlocks}) must be 2 (cut after layer2) or 4 (after layer4)");
        var width = PatchEncoders.ConvOutputWidth(c.EncType, c.NResBlocks);
        if (c.D != width)
            throw v.Error($"D ({c.D}) must equal the encoder's output width {width} ({c.EncType} with n_res_blocks {c.NResBlocks})");
        foreach (var (key, pair) in new[] { ("patch_size", c.PatchSize), ("patch_stride", c.PatchStride) })
        {
            if (pair is not { Length: 2 } || pair[0] <= 0 || pair[1] <= 0)
            {
                var got = pair is null ? "nothing" : $"[{string.Join(", ", pair)}]";
                throw v.Error($"{key} must be two positive integers [height, width] when is_image is True, got {got}");
            }
        }
    }

    private static void ValidateTasks(IpsConfig c, YamlValues v)
    {
        if (c.Tasks.Count == 0)
            throw v.Error($"tasks must define at least one task");
        foreach (var t in c.Tasks)
        {
            var at = $"tasks.{t.Key}";
            if (!ActFns.Contains(t.ActFn))
                throw v.Error($"{at}.act_fn '{t.ActFn}' must be one of {string.Join(", ", ActFns)}");
            if (!Metrics.Contains(t.Metric))
                throw v.Error($"{at}.metric '{t.Metric}' must be one of {string.Join(", ", Metrics)}");
            if (t.Id < 0 || t.Id >= c.NToken)
                throw v.Error($"{at}.id ({t.Id}) must be in [0, n_token) = [0, {c.NToken})");
            if (t.NClass <= 0)
                throw v.Error($"{at}.n_class ({t.NClass}) must be > 0");
            if (t.IsSoftmax && t.NClass < 2)
                throw v.Error($"{at}: act_fn softmax needs n_class >= 2 (got {t.NClass}); use sigmoid for one output");
            if (t.Classes is { } classes && classes.Count != t.NClass)
                throw v.Error($"{at}.classes names {classes.Count} classes ({string.Join(", ", classes)}) but the task has n_class {t.NClass}");
            if (t.Classes?.GroupBy(name => name).FirstOrDefault(g => g.Count() > 1) is { } twice)
                throw v.Error($"{at}.classes names '{twice.Key}' twice; class names must be unique");
            if (t.Metric == "multilabel_accuracy" && t.IsSoftmax)
                throw v.Error($"{at}: metric multilabel_accuracy needs act_fn sigmoid (one independent probability per label)");
        }
        foreach (var name in c.Tasks.GroupBy(t => t.Name).Where(g => g.Count() > 1))
            throw v.Error($"task name '{name.Key}' is used by {string.Join(" and ", name.Select(t => t.Key))}; names must be unique");
        foreach (var id in c.Tasks.GroupBy(t => t.Id).Where(g => g.Count() > 1))
            throw v.Error($"task id {id.Key} is used by {string.Join(" and ", id.Select(t => t.Key))}; each task reads its own token");
    }
}
