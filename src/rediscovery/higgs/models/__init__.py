"""Classifiers behind one interface: BDTs (xgboost, lightgbm, sklearn) and a torch MLP."""
