// train signals [options]: data in, weights out, scores printed.
return await StreamIngest.Training.TrainCommand.RunAsync(args is ["train", .. var rest] ? rest : args);
