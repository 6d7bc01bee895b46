SELECT load.step('resolve');
