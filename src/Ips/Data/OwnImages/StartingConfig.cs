using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Ips.Configuration;
using Ips.Encoders;
using Ips.Imaging;

namespace Ips.Data.OwnImages;

/// <summary>What <see cref="StartingConfig.Draft"/> found in the data and chose, for the summary a user reads.</summary>
/// <param name="Yaml">The commented config text.</param>
/// <param name="Listing">The data's layout, classes and listing problems.</param>
/// <param name="Problems">Every problem: the listing's and the images that cannot be decoded.</param>
/// <param name="Summary">Lines for the user: classes and counts per split, sizes, channels, bit depths, the choices.</param>
public sealed record DraftedConfig(string Yaml, OwnImageListing Listing, IReadOnlyList<DataProblem> Problems, IReadOnlyList<string> Summary);

/// <summary>
/// <c>ips config init</c>: a starting config for your own images, drafted from what the data holds (docs/own-data.md).
/// Every image is decoded once; the choices follow the paper's configs, scaled to the data: patches of about an
/// eighth of the typical shorter side (a multiple of 16, 32 to 256 pixels) unless given, M a tenth of the typical
/// N (at least 2, at most the smallest N, so selection never needs padding), I four times M (16 to 128), and B from
/// an estimate of the gradient pass's memory (M patches per image through the encoder) against a quarter of this
/// machine's memory (at most 16, and at most a quarter of the training images).
/// </summary>
public static class StartingConfig
{
    // Activation memory of a training forward/backward per input pixel, estimated from torchvision's ResNets at 224 x 224
    // (about 25 MB per image for resnet18, 100 MB for resnet50, cut after layer4).
    private static readonly Dictionary<string, double> BytesPerPixel = new() { ["resnet18"] = 500, ["resnet50"] = 2000 };

    /// <summary>The encoders <c>--encoder</c> takes.</summary>
    public static IReadOnlyCollection<string> Encoders => BytesPerPixel.Keys;

    /// <summary>Drafts a config for the data in <paramref name="dataDir"/>.</summary>
    /// <param name="dataDir">Class folders or a labels.csv (docs/own-data.md).</param>
    /// <param name="encoder">resnet18 (ImageNet weights ship with the project) or resnet50.</param>
    /// <param name="patchSize">The patch side in pixels, or null to choose it from the typical image size.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="ArgumentException">The folder holds neither layout, or no image can be read.</exception>
    public static DraftedConfig Draft(string dataDir, string encoder, int? patchSize)
    {
        ArgumentNullException.ThrowIfNull(dataDir);
        if (!Directory.Exists(dataDir))
        {
            throw new DirectoryNotFoundException($"{dataDir}: data folder not found");
        }
        if (!OwnImageListing.Holds(dataDir))
        {
            throw new ArgumentException($"{dataDir}: holds neither class folders (train/<class>/*, test/<class>/*) nor a {OwnImageListing.LabelsFile} (path,label,split); see docs/own-data.md.");
        }
        if (!BytesPerPixel.ContainsKey(encoder))
        {
            throw new ArgumentException($"--encoder {encoder}: expected {string.Join(" or ", BytesPerPixel.Keys)}.");
        }
        var probe = new IpsConfig { DataDir = dataDir, Tasks = TasksOf(dataDir) };
        var listing = OwnImageListing.Read(probe);
        var problems = listing.Problems.ToList();
        var headers = new ConcurrentDictionary<string, (int Width, int Height, int Channels, int Bits)>();
        var unreadable = new ConcurrentBag<DataProblem>();
        Parallel.ForEach(listing.Entries, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(Environment.ProcessorCount, 4) }, entry =>
        {
            var path = Path.Combine(dataDir, entry.Path);
            try
            {
                var header = ImageFile.Describe(path);
                using var pixels = ImageFile.Load(path, header.Channels);
                headers[entry.Path] = header;
            }
            catch (Exception error) when (error is InvalidDataException or IOException or ArgumentException or UnauthorizedAccessException)
            {
                var message = error.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? error.Message[(path.Length + 2)..] : error.Message;
                unreadable.Add(new DataProblem(entry.Path, $"unreadable image: {message}", entry.Train));
            }
        });
        problems.AddRange(unreadable.OrderBy(p => p.Where, StringComparer.Ordinal));
        var images = headers.Values.ToList();
        if (images.Count == 0)
        {
            throw new ArgumentException($"{dataDir}: no image could be read ({problems.Count} problem(s), the first: {problems.FirstOrDefault()?.ToString() ?? "no images listed"}).");
        }

        var channels = images.Any(i => i.Channels == 3) ? 3 : 1;
        var shorter = Median(images.Select(i => Math.Min(i.Width, i.Height)));
        var patch = patchSize ?? Math.Clamp((int)Math.Round(shorter / 8.0 / 16) * 16, 32, 256);
        int Patches(int height, int width) => Cover(height, patch) * Cover(width, patch);
        var counts = images.Select(i => Patches(i.Height, i.Width)).ToList();
        var (minN, typicalN, maxN) = (counts.Min(), Median(counts), counts.Max());
        var m = Math.Min(minN, Math.Max(2, (int)Math.Round(typicalN / 10.0)));
        var i = Math.Clamp(4 * m, 16, 128);
        var sameSize = images.Select(x => (x.Width, x.Height)).Distinct().Count() == 1;
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var perImage = m * (double)patch * patch * BytesPerPixel[encoder];
        // At least four optimiser steps per epoch on a small set.
        var b = Math.Clamp(Math.Min((int)(memory / 4 / perImage), listing.Entries.Count(e => e.Train) / 4), 1, 16);
        var type = EncoderRegistry.ResNet(encoder);
        var pretrained = channels == 3 && type.PackagedWeights;
        var tasks = probe.Tasks.Select(t => t with { NClass = listing.Classes[t.Name].Count, Classes = listing.Classes[t.Name] }).ToList();

        var yaml = Yaml(dataDir, encoder, type.WidthAfter(4), pretrained, channels, patch, m, i, b, sameSize, tasks, (minN, typicalN, maxN), images.Count);
        ConfigLoader.Parse(yaml, "config init"); // what is written always loads

        var summary = new List<string>
        {
            $"data {Path.GetFullPath(dataDir)} ({listing.Layout}): {listing.Entries.Count(e => e.Train)} training, {listing.Entries.Count(e => !e.Train)} test images",
        };
        foreach (var task in tasks)
        {
            summary.Add($"task {task.Name} ({task.ActFn}): " + string.Join(", ", task.Classes!.Select(name => string.Create(CultureInfo.InvariantCulture,
                $"{name} {listing.Entries.Count(e => e.Train && e.Labels[task.Name].Contains(name))} train / {listing.Entries.Count(e => !e.Train && e.Labels[task.Name].Contains(name))} test"))));
        }
        summary.Add(string.Create(CultureInfo.InvariantCulture,
            $"images: {images.Count} readable, width {images.Min(x => x.Width)}..{images.Max(x => x.Width)}, height {images.Min(x => x.Height)}..{images.Max(x => x.Height)} pixels; " +
            $"{string.Join(", ", images.GroupBy(x => x.Channels == 1 ? "grey" : "colour").Select(g => $"{g.Count()} {g.Key}"))}; " +
            $"{string.Join(", ", images.GroupBy(x => x.Bits).OrderBy(g => g.Key).Select(g => $"{g.Count()} of {g.Key} bits"))}"));
        summary.Add(string.Create(CultureInfo.InvariantCulture,
            $"chosen: {encoder} ({(pretrained ? "ImageNet weights" : "trained from scratch")}), patches {patch} x {patch}, N {minN}..{maxN} (typically {typicalN}), M {m}, I {i}, B {b}, {(sameSize ? "eager" : "eager sequential (B_seq 1): the images differ in size")}"));
        foreach (var (task, name) in listing.ClassesWithoutTestImages())
        {
            summary.Add($"note: class '{name}' of task {task} has no test images, so its test accuracy cannot be measured");
        }
        return new DraftedConfig(yaml, listing, problems, summary);
    }

    // Folders: one softmax task. labels.csv: `label` as task `label`, and one task per further column, sigmoid where a
    // cell holds several names separated by ';'.
    private static List<TaskConfig> TasksOf(string dataDir)
    {
        var csv = Path.Combine(dataDir, OwnImageListing.LabelsFile);
        var names = new List<(string Name, bool Sigmoid)> { ("label", false) };
        if (File.Exists(csv))
        {
            var lines = File.ReadAllLines(csv).Where(l => l.Trim().Length > 0).ToList();
            var header = lines.Count == 0 ? [] : OwnImageListing.CsvFields(lines[0]).Select(h => h.Trim()).ToList();
            var rows = lines.Skip(1).Select(OwnImageListing.CsvFields).ToList();
            names.AddRange(header.Where(h => h is not ("path" or "label" or "split") && h.Length > 0)
                .Select(h => (h, rows.Any(r => r.Count == header.Count && r[header.IndexOf(h)].Contains(';', StringComparison.Ordinal)))));
        }
        return [.. names.Select((task, index) => new TaskConfig
        {
            Key = $"task{index}", Id = index, Name = task.Name, ActFn = task.Sigmoid ? "sigmoid" : "softmax",
            Metric = task.Sigmoid ? "multilabel_accuracy" : "accuracy", NClass = 0,
        })];
    }

    private static string Yaml(string dataDir, string encoder, int width, bool pretrained, int channels, int patch, int m, int i, int b,
        bool sameSize, List<TaskConfig> tasks, (int Min, int Typical, int Max) n, int images)
    {
        string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');
        Line($"# Drafted by `ips config init` from {images} images in {Path.GetFullPath(dataDir)}; keys as in the official configs, see docs/own-data.md.");
        Line($"");
        Line($"# optimisation");
        Line($"n_epoch: 30           # training epochs");
        Line($"B: {b}                 # images per optimiser step: what a quarter of this machine's memory holds for the gradient pass ({m} patches of {patch} x {patch} per image through {encoder})");
        Line($"B_seq: {(sameSize ? b : 1)}             # images selected at once: {(sameSize ? "B (eager: all images have one size)" : "1 (eager sequential: each image has its own size and patch grid)")}");
        Line($"n_epoch_warmup: 3     # epochs of linear learning-rate warm-up, then a cosine decay to 0.001 lr");
        Line($"lr: 0.0003            # peak learning rate (the traffic-sign config's)");
        Line($"wd: 0.1               # AdamW weight decay");
        Line($"");
        Line($"# data");
        Line($"n_class: {tasks[0].NClass}            # classes of the first task (listed under tasks)");
        Line($"data_dir: {Quote(Path.GetFullPath(dataDir))}");
        Line($"n_worker: 2           # background image-decoding workers");
        Line($"eager: True           # images in memory; only the selected patches go through the gradient pass");
        Line($"normalize: '{(pretrained ? "imagenet" : "none")}'   # {(pretrained ? "ImageNet mean/std, as the pretrained encoder expects" : "pixels in [0, 1]")}");
        Line($"# image_size: [1200, 1600]   # uncomment to resize every image to [height, width] (antialiased); left out, each keeps its size");
        Line($"aug_flip: True        # random horizontal and vertical flips in training");
        Line($"aug_rot90: False      # random 90-degree rotations; True for images without an up (inspection, satellite, slides)");
        Line($"aug_color_jitter: {(channels == 3 ? "0.1" : "0.0")}   # colour jitter strength (brightness, contrast, saturation, hue), 0 for none");
        Line($"aug_translate: 0.05   # random shift up to this fraction of the width and height, 0 for none");
        Line($"");
        Line($"# misc");
        Line($"seed: 0");
        Line($"");
        Line($"# patch encoder");
        Line($"is_image: True");
        Line($"enc_type: '{encoder}'");
        Line($"pretrained: {(pretrained ? "True" : "False")}     # {(pretrained ? "ImageNet weights packaged with ips" : channels == 1 ? "grey images: a fresh first convolution" : "no weights ship for this encoder: set pretrained_weights to torchvision's file to start from ImageNet")}");
        Line($"n_chan_in: {channels}          # {(channels == 3 ? "RGB (grey images are repeated into three channels)" : "grey")}");
        Line($"n_res_blocks: 4       # all four ResNet stages");
        Line($"");
        Line($"# iterative patch selection");
        Line($"shuffle: True");
        Line($"shuffle_style: 'batch'");
        Line($"n_token: {tasks.Count}");
        Line($"# N is left out: it varies with the image, {n.Min}..{n.Max} patches (typically {n.Typical})");
        Line($"M: {m}                 # patches kept per image (memory); at most the smallest image's N");
        Line($"I: {i}                # patches scored per step of the selection");
        Line($"patch_size: [{patch}, {patch}]");
        Line($"patch_stride: [{patch}, {patch}]");
        Line($"");
        Line($"# aggregation transformer");
        Line($"use_pos: False        # no positional encoding: images differ in their grids");
        Line($"H: 8");
        Line($"D: {width}              # the encoder's output width");
        Line($"D_k: 64");
        Line($"D_v: 64");
        Line($"D_inner: {4 * width}");
        Line($"attn_dropout: 0.1");
        Line($"dropout: 0.1");
        Line($"");
        Line($"tasks:");
        foreach (var task in tasks)
        {
            Line($"  {task.Key}:");
            Line($"    id: {task.Id}");
            Line($"    name: {Quote(task.Name)}");
            Line($"    act_fn: '{task.ActFn}'");
            Line($"    metric: '{task.Metric}'");
            Line($"    n_class: {task.NClass}");
            Line($"    classes: [{string.Join(", ", task.Classes!.Select(Quote))}]   # in output order");
        }
        return text.ToString();
    }

    private static int Cover(int length, int patch) => length <= patch ? 1 : (length - patch + patch - 1) / patch + 1;

    private static int Median(IEnumerable<int> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
