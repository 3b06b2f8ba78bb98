import ArgumentParser
import Triage

/// Options that override the training recipe, for measuring alternatives.
/// Changing any of them changes the model's cache key.
struct RecipeTuning: ParsableArguments {
    @Option(help: ArgumentHelp("Learning rate of the dense parameters.", visibility: .hidden)) var learningRate: Float?
    @Option(help: ArgumentHelp("Learning rate of the n-gram embedding.", visibility: .hidden)) var sparseLearningRate: Float?
    @Option(help: ArgumentHelp("Dropout in the encoder.", visibility: .hidden)) var dropout: Float?
    @Option(help: ArgumentHelp("Dropout on the n-gram branch.", visibility: .hidden)) var sparseDropout: Float?
    @Option(help: ArgumentHelp("Label smoothing.", visibility: .hidden)) var labelSmoothing: Float?
    @Option(help: ArgumentHelp("Width of the n-gram branch (0 = none).", visibility: .hidden)) var sparseWidth: Int?
    @Option(help: ArgumentHelp("Width of the hidden layer (0 = none).", visibility: .hidden)) var hiddenWidth: Int?
    @Option(help: ArgumentHelp("Early-stopping patience in epochs.", visibility: .hidden)) var patience: Int?
    @Option(help: ArgumentHelp("Batch size.", visibility: .hidden)) var batchSize: Int?
    @Option(help: ArgumentHelp("Weight decay.", visibility: .hidden)) var weightDecay: Float?
    @Option(help: ArgumentHelp("In-scope accuracy budget for the out-of-scope threshold.", visibility: .hidden)) var outOfScopeBudget: Double?
    @Option(help: ArgumentHelp("Encoder layers.", visibility: .hidden)) var layers: Int?
    @Option(help: ArgumentHelp("Loss weight of the priority head.", visibility: .hidden)) var priorityWeight: Float?
    @Option(help: ArgumentHelp("Lowest P1 threshold.", visibility: .hidden)) var emergencyFloor: Double?
    @Option(help: ArgumentHelp("Loss weight of P1 examples in the priority head.", visibility: .hidden)) var emergencyWeight: Float?
    @Option(help: ArgumentHelp("P1 recall the P1 threshold is tuned to reach on validation.", visibility: .hidden)) var emergencyRecall: Double?
    @Option(help: ArgumentHelp("Models in the ensemble (different seeds, probabilities averaged).", visibility: .hidden)) var ensemble: Int?
    @Option(help: ArgumentHelp("Value of a safety-rule feature in the n-gram branch (0 = the model does not read the rules).", visibility: .hidden)) var ruleFeatures: Float?
    @Option(help: ArgumentHelp("Share of training examples shown without their safety-rule features.", visibility: .hidden)) var ruleFeatureDropout: Double?

    func apply(to recipe: inout TrainingRecipe) {
        if let learningRate { recipe.options.learningRate = learningRate }
        if let sparseLearningRate { recipe.options.sparseLearningRate = sparseLearningRate }
        if let dropout { recipe.options.dropout = dropout }
        if let sparseDropout { recipe.options.sparseDropout = sparseDropout }
        if let labelSmoothing { recipe.options.labelSmoothing = labelSmoothing }
        if let sparseWidth { recipe.sparseWidth = sparseWidth }
        if let hiddenWidth { recipe.hiddenWidth = hiddenWidth }
        if let patience { recipe.options.patience = patience }
        if let batchSize { recipe.options.batchSize = batchSize }
        if let weightDecay { recipe.options.weightDecay = weightDecay }
        if let outOfScopeBudget { recipe.outOfScopeAccuracyBudget = outOfScopeBudget }
        if let layers { recipe.encoder.layers = layers }
        if let priorityWeight { recipe.options.headWeights["priority"] = priorityWeight }
        if let emergencyFloor { recipe.emergencyThresholdFloor = emergencyFloor }
        if let emergencyWeight { recipe.emergencyClassWeight = emergencyWeight }
        if let emergencyRecall { recipe.emergencyRecallTarget = emergencyRecall }
        if let ensemble { recipe.ensembleSize = max(1, ensemble) }
        if let ruleFeatures { recipe.lexiconFeatureWeight = ruleFeatures > 0 ? ruleFeatures : nil }
        if let ruleFeatureDropout { recipe.lexiconFeatureDropout = ruleFeatureDropout }
    }
}
