using Ips.Slides.Tiling;
using Ips.Tests.Data;

namespace Ips.Tests.Slides;

public sealed class ClaimOrderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Slides_are_claimed_largest_file_first_ties_by_path_and_a_link_counts_as_its_target()
    {
        string Slide(string name, int bytes)
        {
            var path = Path.Combine(_dir.Path, name);
            File.WriteAllBytes(path, new byte[bytes]);
            return path;
        }
        var small = Slide("a_small.tif", 10);
        var tieB = Slide("b_tie.tif", 500);
        var tieA = Slide("a_tie.tif", 500);
        var huge = Slide("z_huge.tif", 5000);
        Directory.CreateDirectory(Path.Combine(_dir.Path, "elsewhere"));
        var target = Slide(Path.Combine("elsewhere", "target.tif"), 2000);
        var link = Path.Combine(_dir.Path, "m_link.tif");
        File.CreateSymbolicLink(link, target);

        Assert.Equal([huge, link, tieA, tieB, small], SlideClaimOrder.LargestFirst([small, tieB, link, huge, tieA]));
    }

    [Theory]
    [InlineData("SLURM_ARRAY_TASK_ID=3,SLURM_ARRAY_TASK_MIN=0,SLURM_ARRAY_TASK_COUNT=8", 3, 8)]
    [InlineData("SLURM_ARRAY_TASK_ID=5,SLURM_ARRAY_TASK_MIN=1,SLURM_ARRAY_TASK_COUNT=8", 4, 8)]
    [InlineData("SLURM_ARRAY_TASK_ID=6,SLURM_ARRAY_TASK_MIN=0,SLURM_ARRAY_TASK_STEP=2,SLURM_ARRAY_TASK_COUNT=8", 3, 8)]
    [InlineData("JOB_COMPLETION_INDEX=2,IPS_TASK_COUNT=4", 2, 4)]
    public void Shard_auto_is_this_array_task_of_the_scheduler(string variables, int index, int count)
    {
        var environment = variables.Split(',').Select(v => v.Split('=')).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(new SlideShard(index, count), SlideShard.FromEnvironment(environment.GetValueOrDefault));
    }

    [Theory]
    [InlineData("", "--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm array job) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard k/n")]
    [InlineData("JOB_COMPLETION_INDEX=2", "--shard auto: JOB_COMPLETION_INDEX is set but IPS_TASK_COUNT is not; set it to the Job's completions in its manifest")]
    [InlineData("SLURM_ARRAY_TASK_ID=x,SLURM_ARRAY_TASK_COUNT=8", "--shard auto: SLURM_ARRAY_TASK_ID=x is not a whole number")]
    [InlineData("JOB_COMPLETION_INDEX=4,IPS_TASK_COUNT=4", "--shard auto: the scheduler's variables give task 4 of 4, expected 0 <= task < count")]
    public void Shard_auto_without_usable_scheduler_variables_says_what_is_missing(string variables, string message)
    {
        var environment = variables.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => v.Split('=')).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => SlideShard.FromEnvironment(environment.GetValueOrDefault)).Message);
    }
}
