using System.Globalization;
using System.Text;

namespace Ips.Slides.Tiling;

/// <summary>
/// One of <see cref="Count"/> disjoint subsets of a cohort of slides (<c>--shard k/n</c>, <c>k</c> counted from 0):
/// a slide belongs to shard <c>hash(file name) mod n</c>, with a fixed hash (64-bit FNV-1a of the UTF-8 file name),
/// so every task of an array job computes the same split on its own, whatever order or machine it lists the files
/// in, and adding slides to the cohort moves no other slide to another shard.
/// </summary>
/// <param name="Index">The shard, 0 .. <paramref name="Count"/> - 1.</param>
/// <param name="Count">Number of shards.</param>
public sealed record SlideShard(int Index, int Count)
{
    /// <summary>The single shard holding every slide.</summary>
    public static SlideShard All { get; } = new(0, 1);

    /// <summary>
    /// Parses <c>k/n</c> with <c>0 &lt;= k &lt; n</c>, or <c>auto</c> (<see cref="FromEnvironment"/> of this process);
    /// throws <see cref="ArgumentException"/> naming the text otherwise.
    /// </summary>
    public static SlideShard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text == "auto")
        {
            return FromEnvironment(Environment.GetEnvironmentVariable);
        }
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            && n > 0 && k < n)
        {
            return new SlideShard(k, n);
        }
        throw new ArgumentException($"--shard '{text}': expected k/n with 0 <= k < n, e.g. 0/4 for the first of four shards");
    }

    /// <summary>
    /// The shard of this task of an array job, from the scheduler's variables (read through <paramref name="variable"/>):
    /// a Slurm array task is shard <c>(SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP</c> of
    /// <c>SLURM_ARRAY_TASK_COUNT</c> (so <c>--array=1-8</c> and <c>--array=0-14:2</c> work too); a pod of a Kubernetes
    /// Indexed Job is shard <c>JOB_COMPLETION_INDEX</c> of <c>IPS_TASK_COUNT</c>, which its manifest sets to the Job's
    /// completions (Kubernetes does not pass them on). Throws <see cref="ArgumentException"/> when neither is there.
    /// </summary>
    public static SlideShard FromEnvironment(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        int Number(string name, int fallback)
        {
            var text = variable(name);
            if (text is null)
            {
                return fallback;
            }
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new ArgumentException($"--shard auto: {name}={text} is not a whole number");
        }
        int index, count;
        if (variable("SLURM_ARRAY_TASK_ID") is not null)
        {
            var step = Math.Max(1, Number("SLURM_ARRAY_TASK_STEP", 1));
            index = (Number("SLURM_ARRAY_TASK_ID", 0) - Number("SLURM_ARRAY_TASK_MIN", 0)) / step;
            count = Number("SLURM_ARRAY_TASK_COUNT", 0);
        }
        else if (variable("JOB_COMPLETION_INDEX") is not null)
        {
            index = Number("JOB_COMPLETION_INDEX", 0);
            count = Number("IPS_TASK_COUNT", 0);
            if (count == 0)
            {
                throw new ArgumentException("--shard auto: JOB_COMPLETION_INDEX is set but IPS_TASK_COUNT is not; set it to the Job's completions in its manifest");
            }
        }
        else
        {
            throw new ArgumentException(
                "--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm array job) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard k/n");
        }
        return index >= 0 && index < count
            ? new SlideShard(index, count)
            : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"--shard auto: the scheduler's variables give task {index} of {count}, expected 0 <= task < count"));
    }

    /// <summary>Whether the slide at <paramref name="path"/> belongs to this shard (only its file name counts).</summary>
    public bool Contains(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ulong hash = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(Path.GetFileName(path)))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }
        return (int)(hash % (ulong)Count) == Index;
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}
