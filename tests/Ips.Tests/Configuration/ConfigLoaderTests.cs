using System.Collections;
using Ips.Configuration;

namespace Ips.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    // The official config/mnist_config.yml of benbergner/ips (commit 434f043), verbatim, as test data.
    private const string OfficialMnist = """
        #opt
        n_epoch: 150          # number of epochs
        B: 16                 # batch size
        B_seq: 16             # sequential batch size, set either to
                              # B (eager and lazy loading) or 1 (eager sequential loading)
        n_epoch_warmup: 10    # number of warm-up epochs
        lr: 0.001             # learning rate
        wd: 0.1               # weight decay

        #dset
        n_class: 10                                                   # number of classes
        data_dir: 'data/megapixel_mnist/dsets/megapixel_mnist_1500'   # directory of dataset
        n_worker: 8                                                   # number of workers
        pin_memory: True                                              # use pin memory in dataloader
        eager: True                                                   # eager or lazy loading

        #misc
        eps: 0.000001
        seed: 0
        track_efficiency: False   # for training, needs to be False
        track_epoch: 0            # only relevant if efficiency stats are tracked.

        #enc
        is_image: True          # should a convolutional patch encoder be used?
        enc_type: 'resnet18'    # used backbone, set either to 'resnet18' or 'resnet50'
        pretrained: False       # should ImageNet weights be used?
        n_chan_in: 1            # number of input channels
        n_res_blocks: 2         # number of residual ResNet blocks, mnist only uses 2

        #ips
        shuffle: True               # should patches be shuffled?
        shuffle_style: 'batch'      # 'batch' or 'instance'. 'batch' shuffles each instance of the batch the same way
        n_token: 4                  # number of learnable query tokens, corresponds to number of tasks (mnist has 4 tasks)
        N: 900                      # number of total patches, needs to be consistent with patch size/stride
        M: 100                      # memory size
        I: 100                      # iteration size
        patch_size: [50, 50]        # dims of patch
        patch_stride: [50, 50]      # stride of patch, use 25 per side for 50% overlap

        #aggr
        use_pos: True       # should positional encoding be used?
        H: 8                # number of transformer layer heads
        D: 128              # dimension of features
        D_k: 16             # dimension of query/keys per head
        D_v: 16             # dimension of values per head
        D_inner: 512        # intermediate layer dimension in MLP
        attn_dropout: 0.1   # attention dropout
        dropout: 0.1        # standard dropout

        # define name, activation fn of final layer and metric to be used
        tasks:
          task0:
            id: 0
            name: 'majority'
            act_fn: 'softmax'
            metric: 'accuracy'
          task1:
            id: 1
            name: 'max'
            act_fn: 'softmax'
            metric: 'accuracy'
          task2:
            id: 2
            name: 'top'
            act_fn: 'softmax'
            metric: 'accuracy'
          task3:
            id: 3
            name: 'multi'
            act_fn: 'sigmoid'
            metric: 'multilabel_accuracy'
        """;

    private static string ConfigPath(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "configs", name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"configs/{name} not found above {AppContext.BaseDirectory}");
    }

    private static IpsConfig Official(params string[] overrides) => ConfigLoader.Parse(OfficialMnist, "mnist.yml", overrides);

    [Fact]
    public void The_official_mnist_text_loads_unchanged()
    {
        var c = Official();
        Assert.Equal("mnist.yml", c.Source);
        Assert.Equal((150, 16, 16, 10), (c.NEpoch, c.B, c.BSeq, c.NEpochWarmup));
        Assert.Equal((0.001, 0.1, 0.000001), (c.Lr, c.Wd, c.Eps));
        Assert.Equal("data/megapixel_mnist/dsets/megapixel_mnist_1500", c.DataDir);
        Assert.Equal((10, 8, true, true), (c.NClass, c.NWorker, c.PinMemory, c.Eager));
        Assert.Equal((0, false, 0), (c.Seed, c.TrackEfficiency, c.TrackEpoch));
        Assert.Equal((true, "resnet18", false, 1, 2), (c.IsImage, c.EncType, c.Pretrained, c.NChanIn, c.NResBlocks));
        Assert.Equal((true, "batch", 4, (int?)900, 100, 100), (c.Shuffle, c.ShuffleStyle, c.NToken, c.N, c.M, c.I));
        Assert.Equal([50, 50], c.PatchSize!);
        Assert.Equal([50, 50], c.PatchStride!);
        Assert.Equal((true, 8, 128, 16, 16, 512), (c.UsePos, c.H, c.D, c.DK, c.DV, c.DInner));
        Assert.Equal((0.1, 0.1), (c.AttnDropout, c.Dropout));
        Assert.Null(c.TrainFname);
        Assert.Null(c.PretrainedWeights);
        Assert.Equal(["majority", "max", "top", "multi"], c.Tasks.Select(t => t.Name));
        Assert.Equal([0, 1, 2, 3], c.Tasks.Select(t => t.Id));
        Assert.Equal(["task0", "task1", "task2", "task3"], c.Tasks.Select(t => t.Key));
        Assert.All(c.Tasks, t => Assert.Equal(10, t.NClass));
        Assert.Equal(new TaskConfig { Key = "task3", Id = 3, Name = "multi", ActFn = "sigmoid", Metric = "multilabel_accuracy", NClass = 10 },
            c.Tasks[3]);
    }

    [Fact]
    public void The_repository_configs_load_with_their_papers_values()
    {
        var mnist = ConfigLoader.Load(ConfigPath("mnist.yml"));
        Assert.Equal((900, 100, 100, 128, 150), (mnist.N ?? 0, mnist.M, mnist.I, mnist.D, mnist.NEpoch));
        Assert.Equal(4, mnist.Tasks.Count);

        var traffic = ConfigLoader.Load(ConfigPath("traffic.yml"));
        Assert.True(traffic.Pretrained);
        Assert.Null(traffic.PretrainedWeights); // the packaged ImageNet ResNet-18 is used
        Assert.Equal((192, 10, 32, 512, 4, 3), (traffic.N ?? 0, traffic.M, traffic.I, traffic.D, traffic.NResBlocks, traffic.NChanIn));
        Assert.Equal([100, 100], traffic.PatchSize!);
        Assert.Equal(0.0003, traffic.Lr);

        var camelyon = ConfigLoader.Load(ConfigPath("camelyon.yml"));
        Assert.False(camelyon.IsImage);
        Assert.Null(camelyon.N);
        Assert.Null(camelyon.PatchSize);
        Assert.Equal((1, 16, 5000, 5000, 2048), (camelyon.BSeq, camelyon.B, camelyon.M, camelyon.I, camelyon.NChanIn));
        Assert.Equal("feat_train_500ep.hdf5", camelyon.TrainFname);
        var task = Assert.Single(camelyon.Tasks);
        Assert.Equal(("metastases", "sigmoid", "auc", 1), (task.Name, task.ActFn, task.Metric, task.NClass));

        var small = ConfigLoader.Load(ConfigPath("mnist-small.yml"));
        Assert.Equal((36, 8, 16, 128, 8), (small.N ?? 0, small.M, small.I, small.D, small.B));
        Assert.Equal("data/megapixel_mnist/small", small.DataDir);
    }

    [Fact]
    public void Overrides_replace_values_nested_task_keys_and_lists()
    {
        var c = Official("lr=0.0005", "M=50", "patch_size=[25,25]", "tasks.task0.metric=auc", "use_pos = False",
            "pretrained_weights=w.pth", "tasks.task3.n_class=3");
        Assert.Equal(0.0005, c.Lr);
        Assert.Equal(50, c.M);
        Assert.Equal([25, 25], c.PatchSize!);
        Assert.Equal("auc", c.Tasks[0].Metric);
        Assert.False(c.UsePos);
        Assert.Equal("w.pth", c.PretrainedWeights);
        Assert.Equal(3, c.Tasks[3].NClass);
        Assert.Equal(10, c.Tasks[2].NClass);
    }

    [Theory]
    [InlineData("lr0.1", "override 'lr0.1' must look like key=value")]
    [InlineData("=3", "override '=3' must look like key=value")]
    [InlineData("tasks..id=1", "override 'tasks..id=1' must look like key=value")]
    [InlineData("M.x=1", "override 'M.x=1': 'M' is not a mapping")]
    [InlineData("lr=[1,", "override 'lr=[1,': the value is not valid YAML")]
    public void Bad_override_syntax_is_rejected(string item, string fragment)
    {
        var e = Assert.Throws<ConfigException>(() => Official(item));
        Assert.StartsWith("config mnist.yml: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("M=1000", "config mnist.yml: M (1000) must be <= N (900)")]
    [InlineData("lrr=1", "unknown key 'lrr' (did you mean 'lr'?)")]
    [InlineData("d_k=4", "unknown key 'd_k' (did you mean 'D_k'?)")]
    [InlineData("tasks.task0.metrc=auc", "unknown key 'tasks.task0.metrc' (did you mean 'tasks.task0.metric'?)")]
    [InlineData("B=sixteen", "key 'B' must be an integer, got 'sixteen'")]
    [InlineData("B=16.5", "key 'B' must be an integer, got '16.5'")]
    [InlineData("lr=fast", "key 'lr' must be a number")]
    [InlineData("eager=maybe", "key 'eager' must be True or False, got 'maybe'")]
    [InlineData("shuffle=1", "key 'shuffle' must be True or False, got '1'")]
    [InlineData("data_dir=[a]", "key 'data_dir' must be a text value, got a list")]
    [InlineData("patch_size=[50]", "key 'patch_size' must be a list of two integers")]
    [InlineData("patch_stride=[0,50]", "patch_stride must be two positive integers [height, width]")]
    [InlineData("patch_size=~", "patch_size must be two positive integers [height, width] when is_image is True, got nothing")]
    [InlineData("M=0", "M (0) must be > 0")]
    [InlineData("I=-1", "I (-1) must be > 0")]
    [InlineData("B=0", "B (0) must be > 0")]
    [InlineData("H=0", "H (0) must be > 0")]
    [InlineData("D_k=0", "D_k (0) must be > 0")]
    [InlineData("D_v=0", "D_v (0) must be > 0")]
    [InlineData("D_inner=0", "D_inner (0) must be > 0")]
    [InlineData("n_token=0", "n_token (0) must be > 0")]
    [InlineData("n_epoch=0", "n_epoch (0) must be > 0")]
    [InlineData("n_epoch_warmup=151", "n_epoch_warmup (151) must be in [0, n_epoch] = [0, 150]")]
    [InlineData("n_epoch_warmup=-1", "n_epoch_warmup (-1) must be in [0, n_epoch]")]
    [InlineData("B_seq=4", "B_seq (4) must be 1 (eager sequential loading) or B (16)")]
    [InlineData("lr=0", "lr (0) must be in (0, 1]")]
    [InlineData("wd=-0.1", "wd (-0.1) must be >= 0")]
    [InlineData("eps=1", "eps (1) must be in [0, 1)")]
    [InlineData("dropout=1", "dropout (1) must be in [0, 1)")]
    [InlineData("attn_dropout=-0.5", "attn_dropout (-0.5) must be in [0, 1)")]
    [InlineData("track_epoch=150", "track_epoch (150) must be in [0, n_epoch)")]
    [InlineData("N=~", "use_pos is True but N is not set")]
    [InlineData("enc_type=vgg16", "enc_type 'vgg16' must be one of resnet18, resnet50")]
    [InlineData("n_res_blocks=3", "n_res_blocks (3) must be 2 (cut after layer2) or 4 (after layer4)")]
    [InlineData("n_res_blocks=4", "D (128) must equal the encoder's output width 512 (resnet18 with n_res_blocks 4)")]
    [InlineData("enc_type=resnet50", "D (128) must equal the encoder's output width 512 (resnet50 with n_res_blocks 2)")]
    [InlineData("shuffle_style=random", "shuffle_style 'random' must be one of batch, instance")]
    [InlineData("selection_dtype=float16", "selection_dtype 'float16' must be one of float32, bfloat16")]
    [InlineData("tasks.task0.act_fn=relu", "tasks.task0.act_fn 'relu' must be one of softmax, sigmoid")]
    [InlineData("tasks.task0.metric=f1", "tasks.task0.metric 'f1' must be one of accuracy, multilabel_accuracy, auc")]
    [InlineData("tasks.task2.id=4", "tasks.task2.id (4) must be in [0, n_token) = [0, 4)")]
    [InlineData("tasks.task2.id=-1", "tasks.task2.id (-1) must be in [0, n_token)")]
    [InlineData("tasks.task1.name=majority", "task name 'majority' is used by task0 and task1")]
    [InlineData("tasks.task1.id=0", "task id 0 is used by task0 and task1")]
    [InlineData("tasks.task0.n_class=1", "tasks.task0: act_fn softmax needs n_class >= 2")]
    [InlineData("tasks.task3.act_fn=softmax", "tasks.task3: metric multilabel_accuracy needs act_fn sigmoid")]
    [InlineData("tasks.task4.name=x", "task 'task4' is missing required key(s): id, act_fn, metric")]
    [InlineData("tasks=[]", "key 'tasks' must be a mapping of tasks")]
    [InlineData("data_dir=~", "key 'data_dir' must be a text value, got nothing")]
    public void Each_rule_fails_with_a_message_naming_file_and_key(string item, string fragment)
    {
        var e = Assert.Throws<ConfigException>(() => Official(item));
        Assert.StartsWith("config mnist.yml: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pretrained_without_a_weight_file_is_valid_for_resnet18_only()
    {
        Assert.True(Official("pretrained=True").Pretrained);
        var e = Assert.Throws<ConfigException>(() => Official("pretrained=True", "enc_type=resnet50", "D=512"));
        Assert.Contains("pretrained is True but pretrained_weights is not set: only resnet18 ships with ImageNet weights", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Messages_use_the_invariant_culture()
    {
        var saved = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
        try
        {
            var e = Assert.Throws<ConfigException>(() => Official("wd=-0.5"));
            Assert.Equal("config mnist.yml: wd (-0.5) must be >= 0", e.Message);
            Assert.Equal(0.5, Official("lr=0.5").Lr);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void Odd_D_with_positional_encoding_is_rejected()
    {
        // A feature encoder has no fixed width, so D may be odd; with use_pos it may not.
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(
            OfficialMnist, "mnist.yml", ["is_image=False", "D=127"]));
        Assert.Contains("D (127) must be even when use_pos is True", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_required_keys_are_listed_together()
    {
        var text = string.Join('\n', OfficialMnist.Split('\n')
            .Where(l => !l.StartsWith("lr:", StringComparison.Ordinal) && !l.StartsWith("M:", StringComparison.Ordinal)
                && !l.StartsWith("patch_stride:", StringComparison.Ordinal)));
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(text, "x.yml"));
        Assert.Equal("config x.yml: missing required key(s): lr, M, patch_stride", e.Message);
    }

    [Fact]
    public void Defaulted_keys_take_their_documented_values()
    {
        var text = string.Join('\n', OfficialMnist.Split('\n').Where(l => !(
            l.StartsWith("B_seq:", StringComparison.Ordinal) || l.StartsWith("eps:", StringComparison.Ordinal)
            || l.StartsWith("eager:", StringComparison.Ordinal) || l.StartsWith("shuffle_style:", StringComparison.Ordinal)
            || l.StartsWith("dropout:", StringComparison.Ordinal))));
        var c = ConfigLoader.Parse(text.Replace("B: 16", "B: 8", StringComparison.Ordinal), "x.yml");
        Assert.Equal((8, 1e-6, true, "batch", 0.1), (c.BSeq, c.Eps, c.Eager, c.ShuffleStyle, c.Dropout));
    }

    [Theory]
    [InlineData("lr: [", "not valid YAML at line")]
    [InlineData("", "the file is empty")]
    [InlineData("- 1\n- 2", "the top level must be a mapping")]
    [InlineData("B: 1\nB: 2", "not valid YAML")]
    public void Malformed_files_are_rejected(string yaml, string fragment)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "x.yml"));
        Assert.StartsWith("config x.yml: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Yaml_spellings_of_booleans_and_numbers_are_accepted()
    {
        var c = Official("eager=false", "shuffle=true", "lr=1e-3", "eps=1.0e-07", "pin_memory=no");
        Assert.Equal((false, true, 1e-3, 1e-7, false), (c.Eager, c.Shuffle, c.Lr, c.Eps, c.PinMemory));
    }

    [Fact]
    public void A_missing_file_is_reported_as_not_found_naming_it()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ConfigLoader.Load("/nonexistent/conf.yml"));
        Assert.Equal("config /nonexistent/conf.yml: not found", e.Message);
    }

    [Theory]
    [InlineData("mnist.yml")]
    [InlineData("traffic.yml")]
    [InlineData("camelyon.yml")]
    [InlineData("mnist-small.yml")]
    public void ToYaml_round_trips_every_field(string name)
    {
        var original = ConfigLoader.Load(ConfigPath(name));
        AssertSameFields(original, ConfigLoader.Parse(ConfigLoader.ToYaml(original), original.Source));
    }

    [Fact]
    public void ToYaml_round_trips_unusual_values()
    {
        var original = Official("lr=0.000123456789", "wd=0", "eps=1e-12", "data_dir=it's here", "tasks.task3.n_class=7",
            "seed=-3", "N=1000", "pretrained=True", "pretrained_weights=a b.pth", "n_epoch_warmup=0.25");
        var yaml = ConfigLoader.ToYaml(original);
        Assert.Contains("n_epoch_warmup: 0.25\n", yaml, StringComparison.Ordinal);
        Assert.Contains("eps: 1.0e-12\n", yaml, StringComparison.Ordinal); // PyYAML needs the '.' to read a float
        Assert.Contains("wd: 0.0\n", yaml, StringComparison.Ordinal);
        AssertSameFields(original, ConfigLoader.Parse(yaml, original.Source));
    }

    [Fact]
    public void Selection_dtype_defaults_to_float32_and_is_written_only_when_set()
    {
        var official = Official();
        var bfloat16 = Official("selection_dtype=bfloat16");

        Assert.Equal(("float32", "bfloat16"), (official.SelectionDtype, bfloat16.SelectionDtype));
        Assert.DoesNotContain("selection_dtype", ConfigLoader.ToYaml(official), StringComparison.Ordinal);
        Assert.Contains("selection_dtype: 'bfloat16'\n", ConfigLoader.ToYaml(bfloat16), StringComparison.Ordinal);
        AssertSameFields(bfloat16, ConfigLoader.Parse(ConfigLoader.ToYaml(bfloat16), bfloat16.Source));
    }

    [Fact]
    public void Whole_warm_up_epochs_are_written_as_an_integer()
    {
        Assert.Contains("n_epoch_warmup: 10\n", ConfigLoader.ToYaml(Official()), StringComparison.Ordinal);
        Assert.Equal(0.5, Official("n_epoch_warmup=0.5").NEpochWarmup);
    }

    [Fact]
    public void Validate_checks_a_config_built_in_code()
    {
        var c = Official() with { M = 2000, Source = "" };
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Validate(c));
        Assert.Equal("config (in code): M (2000) must be <= N (900)", e.Message);
    }

    private static void AssertSameFields(IpsConfig expected, IpsConfig actual)
    {
        foreach (var property in typeof(IpsConfig).GetProperties())
        {
            var a = property.GetValue(expected);
            var b = property.GetValue(actual);
            if (a is IEnumerable ea and not string && b is IEnumerable eb)
                Assert.Equal(ea.Cast<object>(), eb.Cast<object>()); // arrays and task lists by value
            else
                Assert.True(Equals(a, b), $"{property.Name}: {a} != {b}");
        }
    }
}
