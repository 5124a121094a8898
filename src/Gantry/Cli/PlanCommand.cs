using System.CommandLine;
using System.Text.Json;
using Gantry.Migrations;

namespace Gantry.Cli;

/// <summary><c>gantry migrations plan [bootstrap|up|finish|rollback] [--json]</c>: the dry run.</summary>
internal static class PlanCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create(GantryHost host)
    {
        var which = new Argument<string>("command")
        {
            Description = "The command to plan: bootstrap, up (default), finish or rollback",
            DefaultValueFactory = _ => "up",
        };
        which.AcceptOnlyFromAmong("bootstrap", "up", "finish", "rollback");
        var json = new Option<bool>("--json") { Description = "Print the plan as JSON" };
        var command = new Command("plan", "Show, without changing anything, each step a command would run: SQL, lock, rewrite or scan, rows, retry");
        command.Arguments.Add(which);
        command.Options.Add(json);
        command.Options.Add(CommonOptions.DbTimeout);
        command.SetAction((result, ct) => MigrationsCommand.WithDatabase(result, host, "plan", async (context, runner) =>
        {
            var plan = await runner.PlanAsync(Enum.Parse<MigrationCommand>(result.GetValue(which)!, ignoreCase: true), ct);
            if (result.GetValue(json))
                context.Output.Data(JsonSerializer.Serialize(plan, Json));
            else
                Print(context.Output, plan);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static void Print(Output output, MigrationPlan plan)
    {
        output.Line($"Plan for 'gantry migrations {plan.Command}' on database '{plan.Database}' ({plan.DatabaseKind}):");
        if (plan.Refusal is not null)
            output.Line($"  {plan.Command} would not run: {plan.Refusal}");
        foreach (var step in plan.Steps)
        {
            output.Line($"{step.Subsystem}/{step.Migration} {step.Phase} step {step.Step}: {step.Description}");
            var cost = new List<string> { $"lock {step.Lock}{(step.Table is null ? "" : $" on {step.Table}")}" };
            if (step.EstimatedRows is { } rows)
                cost.Add($"~{rows} rows");
            cost.Add(step.Rewrites ? "rewrites the table" : step.Scans ? "scans the table" : "no rewrite or scan");
            cost.Add(step.Transactional ? "in a transaction" : "outside a transaction");
            cost.Add(step.Retryable ? "retryable" : "not retryable");
            output.Line("    " + string.Join(", ", cost));
            foreach (var warning in step.Warnings)
                output.Line($"    warning: {warning}");
            foreach (var statement in step.Statements)
                output.Line("    " + statement.ReplaceLineEndings("\n    "));
        }
        output.Line($"{plan.Steps.Count} step{(plan.Steps.Count == 1 ? "" : "s")}; nothing was changed");
    }
}
