using System.Globalization;
using Ips.Configuration;
using Ips.Imaging;
using Ips.Slides;

namespace Ips.Data.OwnImages;

/// <summary>One labelled image of your own data set.</summary>
/// <param name="Path">The file, relative to <c>data_dir</c>, with '/' separators.</param>
/// <param name="Train">True for the training split, false for the test split.</param>
/// <param name="Labels">Per task name, the class names it has (one for a softmax task, any number for a sigmoid task).</param>
public sealed record OwnImageEntry(string Path, bool Train, IReadOnlyDictionary<string, string[]> Labels);

/// <summary>
/// Your own images as a data set lists them (docs/own-data.md), found by their files in <c>data_dir</c>:
/// a <c>labels.csv</c> (<c>path,label,split</c>, extra columns named like the config's tasks, sigmoid labels
/// separated by ';'), or folders per class under <c>train/</c> and <c>test/</c> (or <c>val/</c> when there is no
/// <c>test/</c>). Listing reads no pixels; what is wrong with a row or a folder is a <see cref="DataProblem"/>.
/// </summary>
public sealed class OwnImageListing
{
    /// <summary>The label sheet's file name in <c>data_dir</c>.</summary>
    public const string LabelsFile = "labels.csv";

    private static readonly string[] RequiredColumns = ["path", "label", "split"];

    private OwnImageListing(string layout, List<OwnImageEntry> entries, List<DataProblem> problems, Dictionary<string, IReadOnlyList<string>> classes)
    {
        Layout = layout;
        Entries = entries;
        Problems = problems;
        Classes = classes;
    }

    /// <summary><c>labels.csv</c> or <c>class folders</c>.</summary>
    public string Layout { get; }

    /// <summary>The images with usable labels, training split first, each in file order.</summary>
    public IReadOnlyList<OwnImageEntry> Entries { get; }

    /// <summary>Rows, folders and classes that cannot be used.</summary>
    public IReadOnlyList<DataProblem> Problems { get; }

    /// <summary>Per task name, its class names in output order: the config's <c>classes</c>, or those of the data sorted by ordinal.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Classes { get; }

    /// <summary>True when <paramref name="directory"/> holds your own images in one of the two layouts.</summary>
    public static bool Holds(string directory) =>
        File.Exists(Path.Combine(directory, LabelsFile)) || Directory.Exists(Path.Combine(directory, "train"));

    /// <summary>Lists the data set in <paramref name="config"/>'s <c>data_dir</c>.</summary>
    /// <exception cref="ArgumentException">The layout does not fit the config's tasks (a missing column, a class count).</exception>
    /// <exception cref="InvalidDataException">labels.csv has no usable header.</exception>
    public static OwnImageListing Read(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var problems = new List<DataProblem>();
        var csv = Path.Combine(config.DataDir, LabelsFile);
        var (layout, rows) = File.Exists(csv) ? (LabelsFile, ReadCsv(config, csv, problems)) : ("class folders", ReadFolders(config, problems));
        var classes = new Dictionary<string, IReadOnlyList<string>>();
        var entries = new List<OwnImageEntry>();
        foreach (var task in config.Tasks)
        {
            classes[task.Name] = task.Classes ?? ClassesOf(task, rows.Entries, rows.FolderClasses);
            // n_class 0 is a config being drafted from the data (StartingConfig): it takes the data's classes.
            if (task.NClass != 0 && classes[task.Name].Count != task.NClass)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"config {ConfigName(config)}: task '{task.Name}' has n_class {task.NClass}, but the data in '{config.DataDir}' ({layout}) has " +
                    $"{classes[task.Name].Count} classes ({string.Join(", ", classes[task.Name])}); set n_class: {classes[task.Name].Count} (or list tasks.{task.Key}.classes)."));
            }
        }
        foreach (var (entry, where) in rows.Entries)
        {
            var unknown = config.Tasks.SelectMany(task => entry.Labels[task.Name].Where(label => !classes[task.Name].Contains(label))
                .Select(label => $"label '{label}' of task '{task.Name}' is not in its class list ({string.Join(", ", classes[task.Name])})")).ToList();
            if (unknown.Count > 0)
            {
                problems.Add(new DataProblem(where, string.Join("; ", unknown), entry.Train));
                continue;
            }
            entries.Add(entry);
        }
        foreach (var task in config.Tasks)
        {
            foreach (var name in classes[task.Name].Where(name => !entries.Any(e => e.Train && e.Labels[task.Name].Contains(name))))
            {
                var folder = layout == LabelsFile ? $"class '{name}'" : $"train/{name}";
                problems.Add(new DataProblem(folder, $"class '{name}' of task '{task.Name}' has no training images (an empty class)", Train: true));
            }
        }
        return new OwnImageListing(layout, [.. entries.OrderBy(e => !e.Train)], problems, classes);
    }

    /// <summary>The class names of the test split that have no test image, per task: named, not refused.</summary>
    public IEnumerable<(string Task, string Class)> ClassesWithoutTestImages() =>
        Classes.SelectMany(task => task.Value.Where(name => !Entries.Any(e => !e.Train && e.Labels[task.Key].Contains(name))).Select(name => (task.Key, name)));

    private static string ConfigName(IpsConfig config) => config.Source.Length > 0 ? Path.GetFileName(config.Source) : "(built in code)";

    private static List<string> ClassesOf(TaskConfig task, List<(OwnImageEntry Entry, string Where)> rows, IReadOnlyList<string>? folderClasses) =>
        (folderClasses ?? rows.SelectMany(row => row.Entry.Labels[task.Name])).Distinct().Order(StringComparer.Ordinal).ToList();

    private sealed record Rows(List<(OwnImageEntry Entry, string Where)> Entries, IReadOnlyList<string>? FolderClasses);

    // train/<class>/** and test/<class>/** (or val/): the folder name is the first task's label.
    private static Rows ReadFolders(IpsConfig config, List<DataProblem> problems)
    {
        if (config.Tasks.Count != 1)
        {
            throw new ArgumentException(
                $"config {ConfigName(config)}: class folders label one task, but the config has {config.Tasks.Count} ({string.Join(", ", config.Tasks.Select(t => t.Name))}); " +
                $"give the labels of several tasks in a {LabelsFile} (path,label,split and one column per further task).");
        }
        var task = config.Tasks[0];
        var testName = Directory.Exists(Path.Combine(config.DataDir, "test")) ? "test" : "val";
        var rows = new List<(OwnImageEntry, string)>();
        var classes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (split, train) in new[] { ("train", true), (testName, false) })
        {
            var root = Path.Combine(config.DataDir, split);
            if (!Directory.Exists(root))
            {
                problems.Add(new DataProblem($"{split}/", train ? "no training folder" : "no test/ or val/ folder: the test split is empty", train));
                continue;
            }
            foreach (var file in Directory.EnumerateFiles(root).Order(StringComparer.Ordinal))
            {
                problems.Add(new DataProblem(Relative(config.DataDir, file), $"a file directly in {split}/; images go in a folder per class, {split}/<class>/", train));
            }
            foreach (var folder in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(folder);
                classes.Add(name);
                // Hidden files (.DS_Store and the like) are the file system's, not images left out.
                foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                    .Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal))
                {
                    if (Listed(config.DataDir, file, train, problems) is { } path)
                    {
                        rows.Add((new OwnImageEntry(path, train, new Dictionary<string, string[]> { [task.Name] = [name] }), path));
                    }
                }
            }
        }
        return new Rows(rows, [.. classes]);
    }

    // labels.csv: path,label,split plus a column per further task, each row one image.
    private static Rows ReadCsv(IpsConfig config, string csv, List<DataProblem> problems)
    {
        var lines = File.ReadAllLines(csv);
        var header = lines.Length == 0 ? [] : CsvFields(lines[0]).Select(h => h.Trim()).ToList();
        var missing = RequiredColumns.Where(column => !header.Contains(column)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException($"{csv}: the header must name the columns path,label,split (missing {string.Join(", ", missing)}; found '{(lines.Length == 0 ? "" : lines[0])}').");
        }
        var columns = new Dictionary<string, int>();
        for (var t = 0; t < config.Tasks.Count; t++)
        {
            var name = config.Tasks[t].Name;
            var column = t == 0 && !header.Contains(name) ? "label" : name;
            columns[name] = header.IndexOf(column) is >= 0 and var at ? at : throw new ArgumentException(
                $"config {ConfigName(config)}: task '{name}' has no column in {csv} (columns: {string.Join(", ", header)}); " +
                $"add a column '{name}' with its labels, or remove the task.");
        }
        int pathColumn = header.IndexOf("path"), splitColumn = header.IndexOf("split");
        var rows = new List<(OwnImageEntry, string)>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0)
            {
                continue;
            }
            var where = $"{LabelsFile} line {i + 1}";
            var fields = CsvFields(lines[i]);
            if (fields.Count != header.Count)
            {
                problems.Add(new DataProblem(where, $"{fields.Count} fields, the header has {header.Count}", Train: true));
                continue;
            }
            var split = fields[splitColumn].Trim();
            var train = split == "train";
            if (split is not ("train" or "test" or "val"))
            {
                problems.Add(new DataProblem(where, $"split '{split}' must be train or test", Train: true));
                continue;
            }
            var path = fields[pathColumn].Trim().Replace('\\', '/');
            if (seen.TryGetValue(path, out var first))
            {
                problems.Add(new DataProblem(where, $"{path} is listed twice (first on line {first}); the later row is left out", train));
                continue;
            }
            seen[path] = i + 1;
            var labels = new Dictionary<string, string[]>();
            string? empty = null;
            foreach (var task in config.Tasks)
            {
                var text = fields[columns[task.Name]].Trim();
                labels[task.Name] = task.IsSoftmax ? [text] : [.. text.Split(';').Select(l => l.Trim()).Where(l => l.Length > 0)];
                if (task.IsSoftmax && text.Length == 0)
                {
                    empty = task.Name;
                }
            }
            if (empty is not null)
            {
                problems.Add(new DataProblem(where, $"{path} has no label for task '{empty}'", train));
                continue;
            }
            if (Listed(config.DataDir, Path.Combine(config.DataDir, path), train, problems) is { } relative)
            {
                rows.Add((new OwnImageEntry(relative, train, labels), relative));
            }
        }
        return new Rows(rows, null);
    }

    // The file's path relative to data_dir, or null with a problem when it is missing or not an image we decode.
    private static string? Listed(string dataDir, string file, bool train, List<DataProblem> problems)
    {
        var relative = Relative(dataDir, file);
        if (!File.Exists(file))
        {
            problems.Add(new DataProblem(relative, "file not found", train));
            return null;
        }
        var extension = Path.GetExtension(file).ToLowerInvariant();
        if (!ImageFile.Extensions.Contains(extension) && !SlideOpener.IsSlidePath(file))
        {
            problems.Add(new DataProblem(relative, $"not an image or slide this version reads (extension '{extension}'; it reads {string.Join(", ", ImageFile.Extensions.Union(SlideOpener.SlideExtensions))})", train));
            return null;
        }
        return relative;
    }

    private static string Relative(string dataDir, string file) => Path.GetRelativePath(dataDir, file).Replace('\\', '/');

    // One CSV record (RFC 4180 quoting: "a,b" and "" for a quote), fields as written.
    internal static List<string> CsvFields(string line)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString());
        return fields;
    }
}
