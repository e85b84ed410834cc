using Ips.Inference;
using Ips.Patches;
using Ips.Tests.Modeling;

namespace Ips.Tests.Inference;

/// <summary>The JSON of predict and evaluate, exactly as scripts read it: key names, order, absent values, NaN.</summary>
public sealed class PredictionDocumentTests
{
    [Fact]
    public void A_prediction_and_a_failure_are_written_input_first_in_snake_case_without_absent_values()
    {
        var prediction = new Prediction(
            "slide.tif", 40, new Dictionary<string, float[]> { ["tumour"] = [0.25f] },
            [new SelectedPatch(3, 0.5f, new PixelBox(256, 512, 256, 256)) { TumourFraction = 0.75f }], "maps/slide.attention.png")
        {
            Classes = new Dictionary<string, object> { ["tumour"] = new[] { 0 } },
            Tumour = new TumourOverlap("slide.xml", 1, 1, 0.5),
        };
        var document = new PredictionDocument([prediction, new FailedPrediction("empty.npy", "empty.npy: no rows")]);

        Assert.Equal(
            """
            [
              {
                "input": "slide.tif",
                "patch_count": 40,
                "probabilities": {
                  "tumour": [
                    0.25
                  ]
                },
                "selected": [
                  {
                    "index": 3,
                    "score": 0.5,
                    "box": {
                      "x": 256,
                      "y": 512,
                      "width": 256,
                      "height": 256
                    },
                    "tumour_fraction": 0.75
                  }
                ],
                "attention_map": "maps/slide.attention.png",
                "classes": {
                  "tumour": [
                    0
                  ]
                },
                "tumour": {
                  "annotations": "slide.xml",
                  "selected": 1,
                  "in_tumour": 1,
                  "min_fraction": 0.5
                }
              },
              {
                "input": "empty.npy",
                "error": "empty.npy: no rows"
              }
            ]
            """.ReplaceLineEndings("\n"),
            document.ToJson().ReplaceLineEndings("\n"));
        Assert.Equal("empty.npy", Assert.Single(document.Failures).Input);
    }

    [Fact]
    public void The_scores_keep_the_configs_task_order_and_write_an_undefined_metric_as_NaN()
    {
        var document = new EvaluationDocument("test", 3, "/runs/a/last.ckpt", new Dictionary<string, TaskEvaluation>
        {
            ["majority"] = new("accuracy", 0.5, 1.25),
            ["tumour"] = new("auc", double.NaN, 0.5),
        });

        Assert.Equal(
            """
            {
              "split": "test",
              "examples": 3,
              "weights": "/runs/a/last.ckpt",
              "tasks": {
                "majority": {
                  "metric": "accuracy",
                  "value": 0.5,
                  "loss": 1.25
                },
                "tumour": {
                  "metric": "auc",
                  "value": "NaN",
                  "loss": 0.5
                }
              }
            }
            """.ReplaceLineEndings("\n"),
            document.ToJson().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_sigmoid_task_states_its_decision_with_the_threshold_and_a_softmax_task_has_none()
    {
        var config = ModelFixtures.SmallImageConfig() with
        {
            Tasks = [ModelFixtures.Task("majority", 0, "softmax", 3), ModelFixtures.Task("metastases", 1, "sigmoid", 1), ModelFixtures.Task("labels", 2, "sigmoid", 3)],
        };
        var probabilities = new Dictionary<string, float[]>
        {
            ["majority"] = [0.2f, 0.7f, 0.1f],
            ["metastases"] = [0.5f],
            ["labels"] = [0.9f, 0.49f, 0.5f],
        };

        var decisions = PredictionChecks.Decisions(config, probabilities)!;
        Assert.Equal(["labels", "metastases"], decisions.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(true, decisions["metastases"].Positive);
        Assert.Equal(new[] { true, false, true }, decisions["labels"].Positive);
        Assert.Null(PredictionChecks.Decisions(config with { Tasks = [config.Tasks[0]] }, probabilities));

        var prediction = new Prediction("slide.h5", 2, probabilities, [], AttentionMap: null) { Decisions = decisions };
        var json = new PredictionDocument([prediction]).ToJson().ReplaceLineEndings("\n");
        Assert.Contains("\"metastases\": {\n        \"positive\": true,\n        \"threshold\": 0.5\n      }", json, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pictures_title_names_the_class_where_the_config_records_names()
    {
        var config = ModelFixtures.SmallImageConfig() with
        {
            Tasks = [ModelFixtures.Task("label", 0, "softmax", 2) with { Classes = ["defect", "ok"] }, ModelFixtures.Task("majority", 1, "softmax", 3)],
        };

        Assert.Equal("label: defect, p = 0.877", PredictionChecks.Describe(config, "label", [0.877f, 0.123f], decisions: null));
        Assert.Equal("majority: class 1, p = 0.700", PredictionChecks.Describe(config, "majority", [0.2f, 0.7f, 0.1f], decisions: null));
    }
}
